// The device view of the chat demo, for the devices the signed-in user owns (docs/PROTOCOL.md#devices):
// the list by im/rpc/device/list, live state and telemetry by SUBSCRIBE device/{id}/state and device/{id}/telemetry/#,
// earlier telemetry and commands over HTTP with the user's own token (Authorization: Bearer).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const POINTS = 300; // telemetry points kept for the chart
const HISTORY_MS = 3600_000; // telemetry loaded when a device is opened
const COMMAND_POLLS = 180; // a command's state is followed once a second for at most 3 minutes
const FINAL = new Set(['succeeded', 'failed', 'rejected', 'timed_out', 'expired', 'canceled']);
const COLOURS = ['#2563eb', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04'];

export class DeviceView {
  constructor(client, ui) {
    this.client = client;
    this.ui = ui;
    this.deviceId = null;
    this.devices = [];
    this.points = []; // { t (s), values: {field: number} }
    this.fields = [];
    this.chart = null;
    this.commands = new Map(); // commandId → command view
    this.following = new Set();
    const { $ } = ui;
    client.addEventListener('device', (e) => this.onPacket(e.detail));
    $('devices-refresh').addEventListener('click', () => this.load());
    $('command-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendCommand();
    });
    window.addEventListener('resize', () => this.resize());
  }

  async load() {
    const { $ } = this.ui;
    try {
      const answer = await this.client.rpc('device/list', { limit: 100 });
      this.devices = answer.devices?.devices ?? [];
      $('devices-note').textContent = this.devices.length ? '' : 'no devices: an operator registers them with you as an owner';
      this.renderList();
    } catch (error) {
      this.ui.toast(`devices: ${error.message}`);
    }
  }

  /** After a reconnect the subscriptions are gone (clean start): take them again. */
  resubscribe() {
    if (this.deviceId) this.subscribe(this.deviceId);
  }

  async open(deviceId) {
    const { $ } = this.ui;
    if (this.deviceId && this.deviceId !== deviceId) this.client.unsubscribe([`device/${this.deviceId}/state`, `device/${this.deviceId}/telemetry/#`]);
    this.deviceId = deviceId;
    this.points = [];
    this.fields = [];
    this.commands.clear();
    this.chart?.destroy();
    this.chart = null;
    $('device').dataset.device = deviceId;
    $('device-title').textContent = deviceId;
    $('device-latest').textContent = '';
    $('device-commands').replaceChildren();
    this.renderState(this.devices.find((d) => d.deviceId === deviceId));
    this.renderList();
    this.ui.showPane('device');
    await this.subscribe(deviceId);
    await Promise.all([this.loadTelemetry(deviceId), this.loadCommands(deviceId)]);
  }

  async subscribe(deviceId) {
    const granted = await this.client.subscribe([`device/${deviceId}/state`, `device/${deviceId}/telemetry/#`]).catch(() => [128, 128]);
    if (granted.some((q) => q >= 128)) this.ui.toast(`device ${deviceId}: not yours to watch`);
  }

  async loadTelemetry(deviceId) {
    try {
      const page = await this.client.http('GET', `/api/devices/${encodeURIComponent(deviceId)}/telemetry?fromMs=${Date.now() - HISTORY_MS}&limit=${POINTS}`);
      for (const p of page.points ?? []) if (p.payload !== undefined) this.addPoint(p.receivedMs, p.payload, p.subtopic);
      this.draw();
    } catch (error) {
      this.ui.toast(`telemetry: ${error.message}`);
    }
  }

  async loadCommands(deviceId) {
    try {
      const list = await this.client.http('GET', `/api/devices/${encodeURIComponent(deviceId)}/commands?limit=1000`);
      for (const c of list.slice(-20)) {
        this.commands.set(c.commandId, c);
        if (!FINAL.has(c.state)) this.follow(c.commandId);
      }
      this.renderCommands();
    } catch (error) {
      this.ui.toast(`commands: ${error.message}`);
    }
  }

  onPacket({ topic, payload, receivedMs }) {
    const [, deviceId, kind] = topic.split('/');
    const text = new TextDecoder().decode(payload);
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined; // binary telemetry: shown as its size only
    }
    if (kind === 'state') {
      const d = this.devices.find((x) => x.deviceId === deviceId);
      if (d && body) Object.assign(d, body);
      this.renderList();
      if (deviceId === this.deviceId) this.renderState(body);
      return;
    }
    if (deviceId !== this.deviceId || kind !== 'telemetry') return;
    this.addPoint(receivedMs, body ?? { bytes: payload.length }, topic.split('/').slice(3).join('/'));
    this.draw();
  }

  addPoint(receivedMs, payload, subtopic) {
    const values = {};
    if (payload && typeof payload === 'object') {
      for (const [k, v] of Object.entries(payload)) if (typeof v === 'number' && Number.isFinite(v)) values[subtopic ? `${subtopic}.${k}` : k] = v;
    } else if (typeof payload === 'number') {
      values[subtopic || 'value'] = payload;
    }
    this.points.push({ t: Number(receivedMs) / 1000, values });
    if (this.points.length > POINTS) this.points.shift();
    const { $ } = this.ui;
    $('device-latest').textContent = `${new Date(Number(receivedMs)).toLocaleTimeString()} ${subtopic ? subtopic + ' ' : ''}${JSON.stringify(payload)}`;
    $('device').dataset.points = String(this.points.length);
  }

  draw() {
    const { $ } = this.ui;
    const fields = [...new Set(this.points.flatMap((p) => Object.keys(p.values)))].sort();
    if (!fields.length) return;
    if (!this.chart || fields.join() !== this.fields.join()) {
      this.chart?.destroy();
      this.fields = fields;
      this.chart = new uPlot({
        width: this.width(),
        height: 180,
        scales: { x: { time: true } },
        series: [{}, ...fields.map((f, i) => ({ label: f, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true }))],
        axes: [{}, { size: 50 }],
      }, [[], ...fields.map(() => [])], $('device-chart'));
    }
    this.chart.setData([this.points.map((p) => p.t), ...this.fields.map((f) => this.points.map((p) => p.values[f] ?? null))]);
  }

  width() {
    return Math.max(240, (this.ui.$('device-chart').clientWidth || 400) - 4);
  }

  resize() {
    if (this.chart) this.chart.setSize({ width: this.width(), height: 180 });
  }

  async sendCommand() {
    const { $ } = this.ui;
    const name = $('command-name').value.trim();
    const text = $('command-payload').value.trim();
    if (!name || !this.deviceId) return;
    let payload;
    try {
      payload = text ? JSON.parse(text) : undefined;
    } catch {
      this.ui.toast('the payload is not JSON');
      return;
    }
    try {
      const command = await this.client.http('POST', `/api/devices/${encodeURIComponent(this.deviceId)}/commands`, { name, payload });
      this.commands.set(command.commandId, command);
      this.renderCommands();
      this.follow(command.commandId);
    } catch (error) {
      this.ui.toast(`command refused: ${error.message}`);
    }
  }

  /** Polls one command until it reaches a final state, so every state it passes through (sent, delivered, …) shows. */
  async follow(commandId) {
    if (this.following.has(commandId)) return;
    this.following.add(commandId);
    const deviceId = this.deviceId;
    try {
      for (let i = 0; i < COMMAND_POLLS && deviceId === this.deviceId; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const command = await this.client.http('GET', `/api/devices/${encodeURIComponent(deviceId)}/commands/${encodeURIComponent(commandId)}`);
        if (deviceId !== this.deviceId) break;
        this.commands.set(commandId, command);
        this.renderCommands();
        if (FINAL.has(command.state)) break;
      }
    } catch (error) {
      this.ui.toast(`command ${commandId}: ${error.message}`);
    } finally {
      this.following.delete(commandId);
    }
  }

  renderState(state) {
    const { $ } = this.ui;
    const online = state ? !!state.online : undefined;
    $('device-state-dot').dataset.online = online === undefined ? 'unknown' : String(online);
    const seen = Number(state?.lastSeenMs ?? 0);
    $('device-state').textContent = online === undefined ? '' : online ? 'online' : `offline${seen ? ' · last seen ' + new Date(seen).toLocaleString() : ''}`;
    $('device').dataset.online = online === undefined ? 'unknown' : String(online);
  }

  renderList() {
    const { $, el } = this.ui;
    $('devices').replaceChildren(...this.devices.map((d) => {
      const li = el('li', 'conversation');
      li.dataset.device = d.deviceId;
      li.classList.toggle('active', d.deviceId === this.deviceId);
      const dot = el('span', 'dot');
      dot.dataset.online = String(!!d.online);
      const body = el('div', 'conversation-body');
      body.append(el('div', 'conversation-title', d.deviceId), el('div', 'conversation-preview muted', d.disabled ? 'disabled' : d.online ? 'online' : 'offline'));
      li.append(dot, body);
      li.addEventListener('click', () => this.open(d.deviceId));
      return li;
    }));
  }

  renderCommands() {
    const { $, el } = this.ui;
    const list = [...this.commands.values()].sort((a, b) => b.seq - a.seq);
    $('device-commands').replaceChildren(...list.map((c) => {
      const li = el('li', 'command');
      li.dataset.commandId = c.commandId;
      li.dataset.state = c.state;
      const head = el('div', 'command-head');
      head.append(el('span', 'mono', `#${c.seq} ${c.name}`), el('span', `state state-${c.state}`, c.state));
      const history = el('div', 'muted small', (c.history ?? []).map((h) => h.state).join(' → '));
      li.append(head, history);
      if (c.result !== null && c.result !== undefined) li.append(el('div', 'mono small', `result ${JSON.stringify(c.result)}`));
      return li;
    }));
  }
}
