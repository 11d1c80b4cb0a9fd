// The live room view of the chat demo: join = SUBSCRIBE room/{roomId}, then one RoomFrame per merge window (chat,
// gifts in room-seq order, viewer count, likes); send = PUBLISH a RoomSend on the same topic (docs/PROTOCOL.md#live-rooms).
// Gifts missed before joining come from im/rpc/room/replay.
import { randomId } from './lib/imclient.js';

const FEED_LIMIT = 200; // feed entries kept on screen
const GIFTS = ['rose', 'rocket', 'cake'];

export class RoomView {
  /** `ui`: { $, el, toast, showPane } from the page. */
  constructor(client, ui) {
    this.client = client;
    this.ui = ui;
    this.roomId = null;
    this.joined = []; // room ids joined in this tab, newest first
    this.lastSeq = 0; // highest gift/system seq shown
    this.seqsShown = new Set();
    this.viewers = 0;
    this.likesTotal = 0;
    this.frames = 0;
    const { $ } = ui;
    this.sends = new Map(); // clientMsgId → refusal reason once known (bounded: the last 100 sends)
    client.addEventListener('roomFrame', (e) => this.onFrame(e.detail));
    client.addEventListener('sendError', (e) => this.onSendError(e.detail));
    $('room-join').addEventListener('submit', (event) => {
      event.preventDefault();
      const id = $('room-join-id').value.trim();
      if (!id) return;
      $('room-join-id').value = '';
      this.join(id);
    });
    $('room-composer').addEventListener('submit', (event) => {
      event.preventDefault();
      const text = $('room-text').value.trim();
      if (!text) return;
      $('room-text').value = '';
      this.send({ kind: 'chat', text });
    });
    $('room-gift').addEventListener('click', () => this.send({ kind: 'gift', giftId: $('room-gift-id').value, giftCount: 1 }));
    $('room-like').addEventListener('click', () => this.send({ kind: 'like', likeCount: 1 }));
    $('room-leave').addEventListener('click', () => this.leave());
    for (const gift of GIFTS) $('room-gift-id').append(new Option(gift, gift));
  }

  /** After every (re)connect: a persistent session does not keep a room, so join the open one again and replay. */
  rejoin() {
    if (this.roomId) this.join(this.roomId, true);
  }

  async join(roomId, again = false) {
    const { $ } = this.ui;
    if (this.roomId && this.roomId !== roomId) this.client.unsubscribe([`room/${this.roomId}`]);
    if (this.roomId !== roomId) this.reset(roomId);
    this.ui.showPane('room');
    const [granted] = await this.client.subscribe([`room/${roomId}`]).catch(() => [128]);
    if (granted >= 128) {
      $('room').dataset.joined = 'refused';
      $('room-status').textContent = 'not joined: no such room, closed, or you may not view it';
      if (!again) this.ui.toast(`room ${roomId}: join refused`);
      return;
    }
    $('room').dataset.joined = 'true';
    $('room-status').textContent = 'joined';
    this.joined = [roomId, ...this.joined.filter((r) => r !== roomId)];
    this.renderList();
    await this.replay(roomId);
  }

  reset(roomId) {
    const { $ } = this.ui;
    this.roomId = roomId;
    this.lastSeq = 0;
    this.seqsShown.clear();
    this.viewers = 0;
    this.likesTotal = 0;
    this.frames = 0;
    $('room').dataset.room = roomId;
    $('room').dataset.frames = '0';
    $('room-title').textContent = roomId;
    $('room-feed').replaceChildren();
    this.renderCounts();
  }

  /** Gifts and system messages after the last seq shown, page by page (bounded). */
  async replay(roomId) {
    try {
      for (let page = 0; page < 10; page++) {
        const answer = await this.client.rpc('room/replay', { roomId, afterSeq: String(this.lastSeq) });
        const replay = answer.roomReplay ?? {};
        for (const m of replay.messages ?? []) this.show(m);
        if (!replay.hasMore || !(replay.messages ?? []).length) break;
      }
    } catch (error) {
      this.ui.toast(`replay failed: ${error.message}`);
    }
  }

  leave() {
    const { $ } = this.ui;
    if (!this.roomId) return;
    this.client.unsubscribe([`room/${this.roomId}`]);
    this.joined = this.joined.filter((r) => r !== this.roomId);
    this.roomId = null;
    $('room').dataset.joined = 'false';
    $('room').dataset.room = '';
    this.renderList();
    this.ui.showPane(null);
  }

  /** Whether a send with this clientMsgId came from this view (its SendError is the room's, not a chat's). */
  owns(clientMsgId) {
    return this.sends.has(clientMsgId);
  }

  async send(body) {
    if (!this.roomId) return;
    const clientMsgId = randomId('k');
    this.sends.set(clientMsgId, null);
    if (this.sends.size > 100) this.sends.delete(this.sends.keys().next().value);
    try {
      await this.client.publishJson(`room/${this.roomId}`, { ...body, clientMsgId });
    } catch (error) {
      // The PUBACK says only "Not authorized"; the SendError on the inbox names the reason (muted, slow_mode, …).
      if (!this.sends.get(clientMsgId)) this.ui.toast(`room: ${error.message}`);
    }
  }

  onSendError(error) {
    if (!this.sends.has(error.clientMsgId)) return;
    this.sends.set(error.clientMsgId, error.code || 'refused');
    this.ui.toast(`room: not sent: ${error.code} ${error.message ?? ''}`);
  }

  onFrame(frame) {
    const { $ } = this.ui;
    if (frame.roomId !== this.roomId) return;
    this.frames++;
    $('room').dataset.frames = String(this.frames);
    // Fields at their default are left out of a frame: no viewers field = no news, not zero.
    if (frame.viewers !== undefined) this.viewers = Number(frame.viewers);
    if (frame.likesTotal !== undefined) this.likesTotal = Number(frame.likesTotal);
    for (const name of frame.joined ?? []) this.event(`${name} joined`);
    for (const m of frame.messages ?? []) this.show(m);
    if (frame.sampledOut) this.event(`${frame.sampledOut} messages left out (room over its rate)`);
    if (Number(frame.lastSeq ?? 0) > this.lastSeq) this.replay(this.roomId); // a gift we have not seen: fetch it
    if (frame.closed) {
      this.event('the room was closed');
      $('room').dataset.joined = 'closed';
      $('room-status').textContent = 'closed';
    }
    this.renderCounts();
  }

  show(m) {
    const { $, el } = this.ui;
    const seq = Number(m.seq ?? 0);
    if (seq) {
      if (this.seqsShown.has(seq)) return;
      this.seqsShown.add(seq);
      this.lastSeq = Math.max(this.lastSeq, seq);
    }
    const kind = m.kind || 'chat';
    const li = el('li', `room-msg kind-${kind}`);
    li.dataset.kind = kind;
    if (seq) li.dataset.seq = String(seq);
    li.append(el('span', 'sender', m.senderId ?? ''));
    if (kind === 'gift') li.append(el('span', 'gift', `sent ${m.giftCount ?? 1} × ${m.giftId}`));
    else li.append(el('span', 'text', m.text ?? ''));
    this.append(li);
  }

  event(text) {
    const li = this.ui.el('li', 'room-msg kind-event', text);
    li.dataset.kind = 'event';
    this.append(li);
  }

  append(li) {
    const { $ } = this.ui;
    const feed = $('room-feed');
    const wrap = $('room-feed-wrap');
    const atEnd = wrap.scrollHeight - wrap.scrollTop - wrap.clientHeight < 40;
    feed.append(li);
    while (feed.children.length > FEED_LIMIT) feed.firstElementChild.remove();
    if (atEnd) wrap.scrollTop = wrap.scrollHeight;
  }

  renderCounts() {
    const { $ } = this.ui;
    $('room-viewers').textContent = String(this.viewers);
    $('room-likes').textContent = String(this.likesTotal);
  }

  renderList() {
    const { $, el } = this.ui;
    $('rooms').replaceChildren(...this.joined.map((id) => {
      const li = el('li', 'conversation');
      li.dataset.room = id;
      li.classList.toggle('active', id === this.roomId);
      li.append(el('span', 'avatar room', '▶'), el('div', 'conversation-title', id));
      li.addEventListener('click', () => this.join(id));
      return li;
    }));
  }
}
