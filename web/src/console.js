// The operations console: admin key in sessionStorage, sent only as X-Admin-Key; live charts from
// GET /api/admin/metrics (a JSON snapshot of the Prometheus counters, polled once a second); clients, subscriptions,
// groups, live rooms, devices and their commands, push outcomes, tokens, notifications, presence, nodes.
import 'uplot/dist/uPlot.min.css';
import './console.css';
import uPlot from 'uplot';
import { roomsView } from './console/rooms.js';
import { devicesView } from './console/devices.js';
import { pushView } from './console/push.js';

const $ = (id) => document.getElementById(id);
const KEY = 'mqttim.adminKey';
const POLL_MS = 1000;
const POINTS = 120; // two minutes of history in the charts

class Unauthorized extends Error {}

async function api(method, path, body) {
  const key = sessionStorage.getItem(KEY) ?? '';
  const response = await fetch(path, {
    method,
    headers: { 'X-Admin-Key': key, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) throw new Unauthorized('the broker refused the admin key (401)');
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${response.status} ${json?.title ?? ''}${json?.detail ? ': ' + json.detail : ''}`);
  return json;
}

function failed(error) {
  if (error instanceof Unauthorized) {
    lock(error.message);
  } else {
    toast(error.message);
  }
}

// ---------- key ----------

$('key-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $('admin-key').value.trim());
  $('admin-key').value = '';
  await unlock();
});

$('forget-key').addEventListener('click', () => lock(''));

function lock(message) {
  sessionStorage.removeItem(KEY);
  stopPolling();
  $('console').hidden = true;
  $('forget-key').hidden = true;
  $('key-panel').hidden = false;
  $('key-error').textContent = message;
}

async function unlock() {
  try {
    const first = await api('GET', '/api/admin/metrics');
    $('key-error').textContent = '';
    $('key-panel').hidden = true;
    $('console').hidden = false;
    $('forget-key').hidden = false;
    onMetrics(first);
    startPolling();
    // In a cluster the overview can add up every node's counters (each node publishes its snapshot once a second).
    const nodes = await api('GET', '/api/admin/nodes');
    $('scope-row').hidden = !nodes.clustered;
  } catch (error) {
    if (error instanceof Unauthorized) lock(error.message);
    else $('key-error').textContent = error.message;
  }
}

// ---------- tabs ----------

let activeTab = 'overview';
for (const button of document.querySelectorAll('#tabs button')) {
  button.addEventListener('click', () => showTab(button.dataset.tab));
}

function showTab(tab) {
  activeTab = tab;
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === tab);
  for (const v of document.querySelectorAll('[data-view]')) v.hidden = v.dataset.view !== tab;
  if (tab === 'clients') loadClients();
  if (tab === 'nodes') loadNodes();
  if (tab === 'overview') resizeCharts();
  if (tab === 'subscriptions') loadSubscriptions();
  if (tab === 'devices') devices.show();
  if (tab === 'push' && previous) push.totals(previous);
}

function jsonTable(rows) {
  const wrap = el('div', 'table-wrap');
  const table = el('table', 'table');
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r ?? {})))];
  const head = el('tr');
  columns.forEach((c) => head.append(el('th', '', c)));
  table.append(el('thead'), el('tbody'));
  table.tHead.append(head);
  for (const r of rows) {
    const tr = el('tr');
    columns.forEach((c) => tr.append(el('td', '', typeof r[c] === 'object' && r[c] !== null ? JSON.stringify(r[c]) : String(r[c] ?? ''))));
    table.tBodies[0].append(tr);
  }
  wrap.append(table);
  return wrap;
}

function ids(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

const views = { $, el, api, failed, toast, ids, jsonTable };
const rooms = roomsView(views);
const devices = devicesView(views);
const push = pushView(views);

// ---------- metrics and charts ----------

let pollTimer = null;
let previous = null;
const PUSH_RESULTS = ['delivered', 'failed', 'token_removed', 'no_token', 'cancelled_online', 'no_channel'];
const COMMAND_OUTCOMES = ['issued', 'succeeded', 'failed', 'rejected', 'timed_out', 'expired', 'canceled', 'retried'];
const COLOURS = ['#16a34a', '#dc2626', '#ca8a04', '#6b7280', '#0891b2', '#9333ea', '#2563eb', '#db2777'];
const series = { t: [], in: [], out: [], commitMs: [], clients: [], drops: [], push: PUSH_RESULTS.map(() => []), commands: COMMAND_OUTCOMES.map(() => []) };
const charts = {};

let scope = 'node';
$('scope').addEventListener('change', () => {
  scope = $('scope').value;
  // Node and cluster totals are different series: start the charts afresh.
  previous = null;
  for (const values of [series.t, series.in, series.out, series.commitMs, series.clients, series.drops, ...series.push, ...series.commands]) values.length = 0;
  drawCharts();
});

function startPolling() {
  stopPolling();
  pollTimer = setInterval(() => {
    api('GET', `/api/admin/metrics?scope=${scope}`).then((m) => { if ((m.nodeId === 'cluster') === (scope === 'cluster')) onMetrics(m); }).catch(failed);
    if (activeTab === 'nodes') loadNodes(); // nodes join and leave: keep the table live while it is shown
    if (activeTab === 'rooms') rooms.refresh();
    if (activeTab === 'devices') devices.refresh();
  }, POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

function sum(map) {
  return Object.values(map ?? {}).reduce((a, b) => a + b, 0);
}

function onMetrics(m) {
  $('node').textContent = m.nodeId === 'cluster' ? `cluster of ${m.nodes} nodes` : `node ${m.nodeId} · up ${duration(m.uptimeSeconds)}`;
  $('scope-note').textContent = m.nodeId === 'cluster' ? `${m.nodes} nodes added up` : '';
  document.body.dataset.scope = m.nodeId === 'cluster' ? 'cluster' : 'node';
  $('m-clients').textContent = fmt(m.connectedClients);
  $('m-subscriptions').textContent = fmt(m.subscriptions);
  $('m-accepted').textContent = fmt(m.messagesAccepted);
  $('m-deliveries').textContent = fmt(m.inboxDeliveries);
  $('m-drops').textContent = fmt(m.queueOverflowDrops);
  $('m-rejected').textContent = `${fmt(sum(m.messagesRejected))} / ${fmt(sum(m.aclDenials))}`;
  $('m-rss').textContent = bytes(m.processResidentBytes);
  $('m-commit').textContent = m.storeCommits ? `${(1000 * m.storeCommitSecondsSum / m.storeCommits).toFixed(2)} ms` : '–';
  $('m-push').textContent = fmt(sum(m.pushOutcomes));
  $('m-commands').textContent = `${fmt(m.deviceCommands?.issued)} / ${fmt(m.deviceCommands?.succeeded)}`;
  $('m-room-viewers').textContent = fmt(m.roomViewers);
  $('m-telemetry').textContent = fmt(m.telemetryPoints);
  if (activeTab === 'push') push.totals(m);

  if (previous && m.timeMs > previous.timeMs) {
    const seconds = (m.timeMs - previous.timeMs) / 1000;
    const commits = m.storeCommits - previous.storeCommits;
    const rate = (map, before, key) => ((map?.[key] ?? 0) - (before?.[key] ?? 0)) / seconds;
    PUSH_RESULTS.forEach((r, i) => series.push[i].push(rate(m.pushOutcomes, previous.pushOutcomes, r)));
    COMMAND_OUTCOMES.forEach((o, i) => series.commands[i].push(rate(m.deviceCommands, previous.deviceCommands, o)));
    addPoint(m.timeMs / 1000,
      (m.messagesAccepted - previous.messagesAccepted) / seconds,
      (m.inboxDeliveries - previous.inboxDeliveries) / seconds,
      commits > 0 ? (1000 * (m.storeCommitSecondsSum - previous.storeCommitSecondsSum)) / commits : null,
      m.connectedClients,
      (m.queueOverflowDrops - previous.queueOverflowDrops) / seconds);
  }
  previous = m;
}

function addPoint(t, messagesIn, messagesOut, commitMs, clients, drops) {
  series.t.push(t);
  series.in.push(messagesIn);
  series.out.push(messagesOut);
  series.commitMs.push(commitMs);
  series.clients.push(clients);
  series.drops.push(drops);
  const all = [series.t, series.in, series.out, series.commitMs, series.clients, series.drops, ...series.push, ...series.commands];
  for (const values of all) if (values.length > POINTS) values.shift();
  drawCharts();
}

function chartOptions(lines) {
  return {
    width: chartWidth(),
    height: 160,
    legend: { show: true },
    scales: { x: { time: true, range: (u, min, max) => [Math.min(min ?? max, max - (POINTS * POLL_MS) / 1000), max] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [{}, ...lines.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: true }))],
    axes: [{}, { size: 50 }],
  };
}

function chartWidth() {
  const figure = document.querySelector('.chart');
  return Math.max(240, (figure?.clientWidth ?? 400) - 24);
}

function drawCharts() {
  if (!charts.rates) {
    charts.rates = new uPlot(chartOptions([['in', '#2563eb'], ['out', '#16a34a']]), [[], [], []], $('chart-rates'));
    charts.commit = new uPlot(chartOptions([['commit ms', '#9333ea']]), [[], []], $('chart-commit'));
    charts.clients = new uPlot(chartOptions([['clients', '#0891b2']]), [[], []], $('chart-clients'));
    charts.drops = new uPlot(chartOptions([['drops/s', '#dc2626']]), [[], []], $('chart-drops'));
    charts.push = new uPlot(chartOptions(PUSH_RESULTS.map((r, i) => [r, COLOURS[i]])), [[], ...PUSH_RESULTS.map(() => [])], $('chart-push'));
    charts.commands = new uPlot(chartOptions(COMMAND_OUTCOMES.map((o, i) => [o, COLOURS[i]])), [[], ...COMMAND_OUTCOMES.map(() => [])], $('chart-commands'));
  }
  charts.rates.setData([series.t, series.in, series.out]);
  charts.commit.setData([series.t, series.commitMs]);
  charts.clients.setData([series.t, series.clients]);
  charts.drops.setData([series.t, series.drops]);
  charts.push.setData([series.t, ...series.push]);
  charts.commands.setData([series.t, ...series.commands]);
}

function resizeCharts() {
  requestAnimationFrame(() => {
    for (const chart of Object.values(charts)) chart.setSize({ width: chartWidth(), height: 160 });
  });
}

window.addEventListener('resize', resizeCharts);

// ---------- clients ----------

$('client-search').addEventListener('submit', (event) => {
  event.preventDefault();
  loadClients();
});

const versions = { V500: '5.0', V311: '3.1.1', V310: '3.1' };

async function loadClients() {
  try {
    const search = $('client-search-text').value.trim();
    const answer = await api('GET', `/api/admin/clients?limit=200${search ? '&search=' + encodeURIComponent(search) : ''}`);
    $('client-count').textContent = `${answer.total} connected${answer.total > answer.clients.length ? `, ${answer.clients.length} shown` : ''}${unanswered(answer)}`;
    $('client-rows').replaceChildren(...answer.clients.map((c) => {
      const tr = el('tr');
      tr.dataset.clientId = c.clientId;
      tr.dataset.nodeId = c.nodeId ?? '';
      const kick = el('button', 'danger small-button', 'Disconnect');
      kick.type = 'button';
      kick.addEventListener('click', () => disconnect(c.clientId));
      const cell = el('td');
      cell.append(kick);
      tr.append(
        el('td', 'mono', c.clientId), el('td', '', c.userId ?? '–'), el('td', 'mono small', c.nodeId ?? '–'), el('td', '', versions[c.protocolVersion] ?? c.protocolVersion),
        el('td', 'mono small', c.endpoint), el('td', '', `${c.messagesReceived} / ${c.messagesSent}`), el('td', '', String(c.pendingMessages)),
        el('td', 'mono small', c.subscriptions.map((s) => s.filter).join(', ')), cell);
      return tr;
    }));
  } catch (error) {
    failed(error);
  }
}

/** Names the cluster nodes that did not answer in time (their clients are missing from the list). */
function unanswered(answer) {
  const nodes = answer.unansweredNodes ?? [];
  return nodes.length ? ` (no answer from ${nodes.join(', ')})` : '';
}

async function disconnect(clientId) {
  try {
    await api('DELETE', `/api/admin/clients/${encodeURIComponent(clientId)}`);
    toast(`disconnected ${clientId}`);
    await loadClients();
  } catch (error) {
    failed(error);
  }
}

// ---------- subscriptions ----------

$('subscription-search').addEventListener('submit', (event) => {
  event.preventDefault();
  loadSubscriptions();
});

async function loadSubscriptions() {
  try {
    const search = $('subscription-search-text').value.trim();
    const answer = await api('GET', `/api/admin/subscriptions?limit=500${search ? '&search=' + encodeURIComponent(search) : ''}`);
    $('subscription-count').textContent = `${answer.total} matching${answer.total > answer.subscriptions.length ? `, ${answer.subscriptions.length} shown` : ''}${unanswered(answer)}`;
    $('subscription-rows').replaceChildren(...answer.subscriptions.map((s) => {
      const tr = el('tr');
      tr.dataset.clientId = s.clientId;
      tr.dataset.nodeId = s.nodeId ?? '';
      tr.append(el('td', 'mono', s.filter), el('td', 'mono small', s.clientId), el('td', 'mono small', s.nodeId ?? '–'), el('td', '', String(s.qos)));
      return tr;
    }));
  } catch (error) {
    failed(error);
  }
}

// ---------- groups ----------

let shownGroup = null;

$('group-lookup').addEventListener('submit', (event) => {
  event.preventDefault();
  groupAction(() => api('GET', `/api/admin/groups/${encodeURIComponent($('group-lookup-id').value.trim())}`));
});

$('group-create').addEventListener('submit', (event) => {
  event.preventDefault();
  groupAction(() => api('POST', '/api/admin/groups', {
    groupId: $('group-create-id').value.trim() || undefined,
    name: $('group-create-name').value.trim(),
    ownerId: $('group-create-owner').value.trim(),
    memberIds: ids($('group-create-members').value),
  }));
});

const groupPath = () => `/api/admin/groups/${encodeURIComponent(shownGroup.groupId)}`;
$('group-add').addEventListener('click', () => groupAction(() => api('POST', `${groupPath()}/members`, { userIds: ids($('group-add-users').value) })));
$('group-rename').addEventListener('click', () => groupAction(() => api('POST', `${groupPath()}/rename`, { name: $('group-rename-name').value.trim() })));
$('group-mute-all').addEventListener('click', () => groupAction(() => api('POST', `${groupPath()}/mute`, { allMuted: true })));
$('group-unmute-all').addEventListener('click', () => groupAction(() => api('POST', `${groupPath()}/mute`, { allMuted: false })));
$('group-dissolve').addEventListener('click', () => groupAction(() => api('DELETE', groupPath())));

async function groupAction(call) {
  try {
    const group = await call();
    // Changes answer the GroupInfo without its member list; the lookup has it.
    showGroup(group.members || group.dissolved ? group : await api('GET', `/api/admin/groups/${encodeURIComponent(group.groupId)}`));
  } catch (error) {
    failed(error);
  }
}

const roles = { GROUP_ROLE_OWNER: 'owner', GROUP_ROLE_ADMIN: 'admin' };

function showGroup(g) {
  shownGroup = g;
  $('group-detail').hidden = false;
  $('group-detail-title').textContent = `${g.name} (${g.groupId})`;
  $('group-detail-sub').textContent = `owner ${g.ownerId} · ${g.memberCount ?? 0} members${g.allMuted ? ' · all muted' : ''}${g.dissolved ? ' · dissolved' : ''}`;
  $('group-members').replaceChildren(...(g.members ?? []).map((m) => {
    const tr = el('tr');
    const remove = el('button', 'secondary small-button', 'Remove');
    remove.type = 'button';
    remove.addEventListener('click', () => groupAction(() => api('DELETE', `${groupPath()}/members/${encodeURIComponent(m.userId)}`)));
    const admin = el('button', 'secondary small-button', m.role === 'GROUP_ROLE_ADMIN' ? 'Make member' : 'Make admin');
    admin.type = 'button';
    admin.addEventListener('click', () => groupAction(() => api('POST', `${groupPath()}/roles`, { userIds: [m.userId], admin: m.role !== 'GROUP_ROLE_ADMIN' })));
    const actions = el('td');
    if (m.role !== 'GROUP_ROLE_OWNER') actions.append(admin, remove);
    const muted = Number(m.mutedUntilMs ?? 0);
    tr.append(el('td', '', m.userId), el('td', '', roles[m.role] ?? 'member'), el('td', '', String(m.joinedSeq ?? 0)),
      el('td', '', muted > Date.now() ? new Date(muted).toLocaleString() : '–'), actions);
    return tr;
  }));
}

// ---------- tokens, notifications, presence, nodes ----------

$('token-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const ttl = Number($('token-ttl').value);
    const answer = await api('POST', '/api/admin/tokens', { userId: $('token-user').value.trim(), ttlSeconds: ttl > 0 ? ttl : undefined });
    $('token-output').value = answer.token;
  } catch (error) {
    failed(error);
  }
});

$('notify-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const answer = await api('POST', '/api/admin/notifications', {
      userIds: ids($('notify-users').value), groupId: $('notify-group').value.trim() || undefined,
      priority: Number($('notify-priority').value), type: $('notify-type').value.trim(),
      title: $('notify-title').value.trim(), text: $('notify-text').value.trim(),
    });
    const count = Array.isArray(answer) ? answer.length : (answer.recipients ?? answer.deliveries ?? []).length;
    $('notify-result').textContent = `sent to ${count} recipients`;
  } catch (error) {
    failed(error);
  }
});

$('presence-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const rows = await api('GET', `/api/presence?userIds=${encodeURIComponent(ids($('presence-users').value).join(','))}`);
    $('presence-rows').replaceChildren(...rows.map((p) => {
      const tr = el('tr');
      const dot = el('span', 'dot');
      dot.dataset.online = String(p.online);
      const online = el('td');
      online.append(dot, document.createTextNode(p.online ? ' online' : ' offline'));
      tr.append(el('td', '', p.userId), online, el('td', 'mono small', p.devices.join(', ')), el('td', '', p.changedMs ? new Date(p.changedMs).toLocaleString() : 'not seen since start'));
      return tr;
    }));
  } catch (error) {
    failed(error);
  }
});

async function loadNodes() {
  try {
    const answer = await api('GET', '/api/admin/nodes');
    $('node-note').textContent = answer.clustered
      ? `cluster of ${answer.nodes.length} live nodes, answered by ${answer.answeredBy}; other nodes are shown by their last heartbeat`
      : 'single node (no Cluster:Redis)';
    $('node-rows').replaceChildren(...answer.nodes.map((n) => {
      const tr = el('tr');
      tr.dataset.nodeId = n.nodeId;
      const m = n.metrics;
      tr.append(el('td', 'mono', n.nodeId + (n.self ? ' (this)' : '')), el('td', 'mono small', n.host ? `${n.host}:${n.mqttPort}` : '–'),
        el('td', '', fmt(n.connections)), el('td', '', n.cpu === null || n.cpu === undefined ? '–' : `${(100 * n.cpu).toFixed(1)} %`),
        el('td', '', new Date(n.heartbeatMs).toLocaleTimeString()), el('td', '', m ? duration(m.uptimeSeconds) : '–'),
        el('td', '', m ? fmt(m.subscriptions) : '–'), el('td', '', m ? fmt(m.messagesAccepted) : '–'),
        el('td', '', m ? fmt(m.inboxDeliveries) : '–'), el('td', '', m ? bytes(m.processResidentBytes) : '–'));
      return tr;
    }));
  } catch (error) {
    failed(error);
  }
}

// ---------- helpers ----------

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(n) {
  return Number(n ?? 0).toLocaleString('en-US');
}

function bytes(n) {
  const mb = Number(n ?? 0) / (1024 * 1024);
  return `${mb.toFixed(1)} MiB`;
}

function duration(seconds) {
  const s = Math.floor(seconds ?? 0);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

let toastTimer = null;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

if (sessionStorage.getItem(KEY)) unlock();
