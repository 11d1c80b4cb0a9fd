// Console → Devices: the registry over /api/admin/devices (register, disable/enable, delete, owners) and, per device,
// its commands with their states over /api/devices/{id}/commands (the admin key sees every device).
const TELEMETRY_WINDOW_MS = 300_000;

export function devicesView({ $, el, api, failed, toast, ids }) {
  let shown = null;
  const enc = encodeURIComponent;

  async function list() {
    try {
      const owner = $('device-search-owner').value.trim();
      const devices = await api('GET', `/api/admin/devices?limit=200${owner ? '&owner=' + enc(owner) : ''}`);
      $('device-count').textContent = `${devices.length} devices${devices.length === 200 ? ' (first 200)' : ''}`;
      $('device-rows').replaceChildren(...devices.map(row));
    } catch (error) {
      failed(error);
    }
  }

  function row(d) {
    const tr = el('tr');
    tr.dataset.deviceId = d.deviceId;
    const online = el('td');
    const dot = el('span', 'dot');
    dot.dataset.online = String(!!d.online);
    online.append(dot, document.createTextNode(d.disabled ? ' disabled' : d.online ? ' online' : ' offline'));
    const actions = el('td', 'row');
    actions.append(
      button('Commands', 'secondary', () => open(d.deviceId)),
      button(d.disabled ? 'Enable' : 'Disable', 'secondary', () => act(() => api('POST', `/api/admin/devices/${enc(d.deviceId)}/${d.disabled ? 'enable' : 'disable'}`))),
      button('Delete', 'danger', () => act(() => api('DELETE', `/api/admin/devices/${enc(d.deviceId)}`), `deleted ${d.deviceId}`)));
    tr.append(el('td', 'mono', d.deviceId), online, el('td', '', d.lastSeenMs ? new Date(Number(d.lastSeenMs)).toLocaleString() : '–'),
      el('td', 'mono small', (d.owners ?? []).join(', ')), actions);
    return tr;
  }

  function button(text, kind, onClick) {
    const b = el('button', `${kind} small-button`, text);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  async function act(call, message) {
    try {
      await call();
      if (message) toast(message);
      await list();
    } catch (error) {
      failed(error);
    }
  }

  async function open(deviceId) {
    shown = deviceId;
    $('device-detail').hidden = false;
    $('device-detail').dataset.deviceId = deviceId;
    $('device-detail-title').textContent = `Commands of ${deviceId}`;
    await refresh();
  }

  async function refresh() {
    if (!shown) return;
    const deviceId = shown;
    try {
      // Recent telemetry by range (…/telemetry/latest answers 404 when there is none, which browsers log as an error).
      const [commands, recent] = await Promise.all([
        api('GET', `/api/devices/${enc(deviceId)}/commands?limit=1000`),
        api('GET', `/api/devices/${enc(deviceId)}/telemetry?fromMs=${Date.now() - TELEMETRY_WINDOW_MS}&limit=1000`),
      ]);
      const points = recent.points ?? [];
      const latest = points[points.length - 1];
      if (deviceId !== shown) return;
      $('command-rows').replaceChildren(...commands.slice(-50).reverse().map((c) => {
        const tr = el('tr');
        tr.dataset.commandId = c.commandId;
        tr.dataset.state = c.state;
        tr.append(el('td', '', String(c.seq)), el('td', 'mono', c.name), el('td', '', c.state),
          el('td', 'small', (c.history ?? []).map((h) => h.state).join(' → ')), el('td', 'small', c.issuedBy ?? ''),
          el('td', 'mono small', c.result === null || c.result === undefined ? '' : JSON.stringify(c.result)));
        return tr;
      }));
      $('device-telemetry').textContent = latest
        ? `${points.length}${recent.next ? '+' : ''} telemetry points in the last 5 min; latest ${new Date(latest.receivedMs).toLocaleTimeString()}: ${JSON.stringify(latest.payload ?? latest.payloadBase64)}`
        : 'no telemetry in the last 5 min';
    } catch (error) {
      failed(error);
    }
  }

  $('device-search').addEventListener('submit', (event) => {
    event.preventDefault();
    list();
  });
  $('device-register').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const answer = await api('POST', '/api/admin/devices', { deviceId: $('device-register-id').value.trim(), owners: ids($('device-register-owners').value) });
      $('device-register-output').value = `secret (shown once): ${answer.secret}`;
      await list();
    } catch (error) {
      failed(error);
    }
  });
  $('device-command').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!shown) return;
    const text = $('device-command-payload').value.trim();
    try {
      await api('POST', `/api/devices/${enc(shown)}/commands`, { name: $('device-command-name').value.trim(), payload: text ? JSON.parse(text) : undefined });
      await refresh();
    } catch (error) {
      failed(error);
    }
  });

  return {
    show: list,
    // Open commands move through their states: keep the table live while the tab is shown.
    refresh,
  };
}
