// The operations console: admin key in sessionStorage, sent only as X-Admin-Key; live charts from
// GET /api/admin/metrics (a JSON snapshot of the Prometheus counters, polled once a second); clients, groups,
// tokens, notifications, presence, nodes; tabs for features this broker may not have (answered from /api/web-config).
import 'uplot/dist/uPlot.min.css';
import './console.css';
import uPlot from 'uplot';

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
    await loadFeatures();
    onMetrics(first);
    startPolling();
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
  const feature = document.querySelector(`[data-view="${tab}"].feature`);
  if (feature) loadFeature(feature);
}

let adminRoutes = [];
let adminGetRoutes = [];
async function loadFeatures() {
  const config = await fetch('/api/web-config').then((r) => r.json()).catch(() => ({}));
  adminRoutes = config.adminRoutes ?? [];
  adminGetRoutes = config.adminGetRoutes ?? [];
}

/**
 * Views for features other parts of the broker add (rooms, devices, push): absent until the broker maps routes under
 * the tab's prefix; then every GET route there can be listed, with a query string (e.g. userId=alice), as a table.
 */
function loadFeature(section) {
  const prefix = section.dataset.route;
  if (section.dataset.ready) return;
  const gets = adminGetRoutes.filter((r) => r === prefix || r.startsWith(prefix + '/'));
  if (!adminRoutes.some((r) => r === prefix || r.startsWith(prefix + '/'))) {
    section.replaceChildren(el('p', 'card muted not-available', `Not available on this broker (no ${prefix} API).`));
    return;
  }
  section.dataset.ready = '1';
  const form = el('form', 'row feature-query');
  const select = el('select', 'feature-route');
  gets.forEach((r) => select.append(new Option(r, r)));
  const query = el('input', 'feature-params');
  query.placeholder = 'query, e.g. userId=alice';
  const load = el('button', '', 'Load');
  load.type = 'submit';
  const result = el('div', 'feature-result');
  form.append(select, query, load);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (select.value.includes('{')) {
      toast('fill the {…} part of the route: pick a route without it, or use the API directly');
      return;
    }
    try {
      const q = query.value.trim().replace(/^\?/, '');
      const data = await api('GET', select.value + (q ? '?' + q : ''));
      const rows = Array.isArray(data) ? data : Array.isArray(data?.items) ? data.items : [data];
      result.replaceChildren(rows.length ? jsonTable(rows) : el('p', 'muted', 'no entries'));
    } catch (error) {
      failed(error);
    }
  });
  section.replaceChildren(form, result);
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
    columns.forEach((c) => tr.append(el('td', '', typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c] ?? ''))));
    table.tBodies[0].append(tr);
  }
  wrap.append(table);
  return wrap;
}

// ---------- metrics and charts ----------

let pollTimer = null;
let previous = null;
const series = { t: [], in: [], out: [], commitMs: [], clients: [], drops: [] };
const charts = {};

function startPolling() {
  stopPolling();
  pollTimer = setInterval(() => {
    api('GET', '/api/admin/metrics').then(onMetrics).catch(failed);
    if (activeTab === 'nodes') loadNodes(); // nodes join and leave: keep the table live while it is shown
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
  $('node').textContent = `node ${m.nodeId} · up ${duration(m.uptimeSeconds)}`;
  $('m-clients').textContent = fmt(m.connectedClients);
  $('m-subscriptions').textContent = fmt(m.subscriptions);
  $('m-accepted').textContent = fmt(m.messagesAccepted);
  $('m-deliveries').textContent = fmt(m.inboxDeliveries);
  $('m-drops').textContent = fmt(m.queueOverflowDrops);
  $('m-rejected').textContent = `${fmt(sum(m.messagesRejected))} / ${fmt(sum(m.aclDenials))}`;
  $('m-rss').textContent = bytes(m.processResidentBytes);
  $('m-commit').textContent = m.storeCommits ? `${(1000 * m.storeCommitSecondsSum / m.storeCommits).toFixed(2)} ms` : '–';

  if (previous && m.timeMs > previous.timeMs) {
    const seconds = (m.timeMs - previous.timeMs) / 1000;
    const commits = m.storeCommits - previous.storeCommits;
    push(m.timeMs / 1000,
      (m.messagesAccepted - previous.messagesAccepted) / seconds,
      (m.inboxDeliveries - previous.inboxDeliveries) / seconds,
      commits > 0 ? (1000 * (m.storeCommitSecondsSum - previous.storeCommitSecondsSum)) / commits : null,
      m.connectedClients,
      (m.queueOverflowDrops - previous.queueOverflowDrops) / seconds);
  }
  previous = m;
}

function push(t, messagesIn, messagesOut, commitMs, clients, drops) {
  series.t.push(t);
  series.in.push(messagesIn);
  series.out.push(messagesOut);
  series.commitMs.push(commitMs);
  series.clients.push(clients);
  series.drops.push(drops);
  for (const values of Object.values(series)) if (values.length > POINTS) values.shift();
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
  }
  charts.rates.setData([series.t, series.in, series.out]);
  charts.commit.setData([series.t, series.commitMs]);
  charts.clients.setData([series.t, series.clients]);
  charts.drops.setData([series.t, series.drops]);
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
    $('client-count').textContent = `${answer.total} connected${answer.total > answer.clients.length ? `, ${answer.clients.length} shown` : ''}`;
    $('client-rows').replaceChildren(...answer.clients.map((c) => {
      const tr = el('tr');
      tr.dataset.clientId = c.clientId;
      const kick = el('button', 'danger small-button', 'Disconnect');
      kick.type = 'button';
      kick.addEventListener('click', () => disconnect(c.clientId));
      const cell = el('td');
      cell.append(kick);
      tr.append(
        el('td', 'mono', c.clientId), el('td', '', c.userId ?? '–'), el('td', '', versions[c.protocolVersion] ?? c.protocolVersion),
        el('td', 'mono small', c.endpoint), el('td', '', `${c.messagesReceived} / ${c.messagesSent}`), el('td', '', String(c.pendingMessages)),
        el('td', 'mono small', c.subscriptions.map((s) => s.filter).join(', ')), cell);
      return tr;
    }));
  } catch (error) {
    failed(error);
  }
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

// ---------- groups ----------

let shownGroup = null;

function ids(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

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
