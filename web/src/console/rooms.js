// Console → Live rooms: look up or create a room, then moderate it over /api/admin/rooms (docs/PROTOCOL.md#live-rooms).
// Answers are proto3 JSON RoomInfo, so numbers of type int64 arrive as strings and fields at their default are absent.
export function roomsView({ $, api, failed, toast, ids }) {
  let shown = null;
  const path = () => `/api/admin/rooms/${encodeURIComponent(shown.roomId)}`;

  async function run(call, message) {
    try {
      const answer = await call();
      if (message) toast(message);
      // Moderation answers carry the RoomInfo; the back-end send answers {roomId, seq}: reload the room then.
      show(answer?.roomId && answer.createdMs !== undefined ? answer : await api('GET', `/api/admin/rooms/${encodeURIComponent(answer?.roomId ?? shown.roomId)}`));
    } catch (error) {
      failed(error);
    }
  }

  function show(room) {
    shown = room;
    $('room-detail').hidden = false;
    $('room-detail').dataset.roomId = room.roomId;
    $('room-detail-title').textContent = `${room.title || room.roomId} (${room.roomId})${room.closed ? ' · closed' : ''}`;
    $('room-detail-viewers').textContent = String(Number(room.viewers ?? 0));
    $('room-detail-seq').textContent = String(Number(room.lastSeq ?? 0));
    $('room-detail-rate').textContent = `${room.maxMessagesPerSecond || 'default'}/s · ${room.slowModeSeconds ? room.slowModeSeconds + ' s' : 'off'}`;
    const muted = Object.entries(room.mutedUntilMs ?? {}).filter(([, until]) => Number(until) > Date.now()).map(([user]) => user);
    $('room-detail-sub').textContent = [
      room.public === false ? 'private (token claim rooms)' : 'public',
      room.allMuted ? 'all muted' : '',
      room.bannedUserIds?.length ? `banned: ${room.bannedUserIds.join(', ')}` : '',
      muted.length ? `muted: ${muted.join(', ')}` : '',
    ].filter(Boolean).join(' · ');
  }

  $('room-lookup').addEventListener('submit', (event) => {
    event.preventDefault();
    run(() => api('GET', `/api/admin/rooms/${encodeURIComponent($('room-lookup-id').value.trim())}`));
  });
  $('room-create').addEventListener('submit', (event) => {
    event.preventDefault();
    const rate = Number($('room-create-rate').value);
    run(() => api('POST', '/api/admin/rooms', {
      roomId: $('room-create-id').value.trim(),
      title: $('room-create-title').value.trim() || undefined,
      public: $('room-create-public').checked,
      maxMessagesPerSecond: rate > 0 ? rate : undefined,
    }), 'room created');
  });
  $('room-system-send').addEventListener('click', () => {
    const text = $('room-system-text').value.trim();
    if (!text) return;
    $('room-system-text').value = '';
    run(() => api('POST', `${path()}/messages`, { kind: 'system', text }), 'system message sent');
  });
  $('room-ban').addEventListener('click', () => run(() => api('POST', `${path()}/bans`, { userIds: ids($('room-users').value) })));
  $('room-unban').addEventListener('click', () => run(async () => {
    let room = shown;
    for (const user of ids($('room-users').value)) room = await api('DELETE', `${path()}/bans/${encodeURIComponent(user)}`);
    return room;
  }));
  $('room-mute').addEventListener('click', () => run(() => api('POST', `${path()}/mutes`, { userIds: ids($('room-users').value), muteSeconds: 600 })));
  $('room-unmute').addEventListener('click', () => run(() => api('POST', `${path()}/mutes`, { userIds: ids($('room-users').value), muteSeconds: 0 })));
  $('room-mute-all').addEventListener('click', () => run(() => api('POST', `${path()}/settings`, { allMuted: true })));
  $('room-unmute-all').addEventListener('click', () => run(() => api('POST', `${path()}/settings`, { allMuted: false })));
  $('room-slow-set').addEventListener('click', () => run(() => api('POST', `${path()}/settings`, { slowModeSeconds: Number($('room-slow').value) || 0 })));
  $('room-close').addEventListener('click', () => run(() => api('DELETE', path()), 'room closed'));

  return {
    // Viewer counts move: refresh the shown room while the tab is open.
    refresh() {
      if (shown && !shown.closed) api('GET', path()).then(show).catch(() => {});
    },
  };
}
