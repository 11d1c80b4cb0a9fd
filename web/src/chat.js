// The chat demo: sign in, conversation list with unread badges and presence dots, 1:1 and group chat, read
// receipts, history scroll-back, recall/edit, and catch-up by sync after every (re)connect or reload; a live room
// view (rooms.js) and a device view (devices.js) for the devices the user owns.
import './chat.css';
import { ImClient, conversationIdWith, randomId } from './lib/imclient.js';
import { ChatState, Kinds } from './lib/chatstate.js';
import { RoomView } from './rooms.js';
import { DeviceView } from './devices.js';

const $ = (id) => document.getElementById(id);
const SESSION_KEY = 'mqttim.session';
const SYNC_PAGES = 50; // bounded catch-up: 50 pages of 200 messages
const FIRST_LOAD = 30; // messages per conversation pulled on a fresh device; older ones on scroll-back
const CHANGE_WINDOW_MS = 120000; // Chat:ChangeWindow default; the broker is the judge, this only hides stale buttons

let client = null;
let state = null;
let rooms = null;
let devices = null;
let mode = 'chats';
let openId = null;
let editingSeq = null;
let syncedMessages = 0;
let connects = 0; // shown as data-connects: how many times this page (re)connected
const presenceWatched = new Set();
const presenceRetries = new Map(); // peer → refused presence subscriptions so far
const PRESENCE_RETRIES = 5;
const gapTimers = new Map();

// ---------- sign in ----------

async function showDemoButton() {
  try {
    const response = await fetch('/api/web-config');
    const config = response.ok ? await response.json() : {};
    $('mint-demo-token').hidden = !config.demo;
  } catch {
    $('mint-demo-token').hidden = true;
  }
}

$('mint-demo-token').addEventListener('click', async () => {
  const userId = $('login-user').value.trim();
  if (!$('login-user').checkValidity() || !userId) {
    $('login-error').textContent = 'enter a user id first (letters, digits, - _ .)';
    return;
  }
  const response = await fetch('/api/demo/tokens', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ userId }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    $('login-error').textContent = body.title ?? `minting failed (${response.status})`;
    return;
  }
  $('login-token').value = body.token;
  $('login-error').textContent = '';
});

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const userId = $('login-user').value.trim();
  const token = $('login-token').value.trim();
  const deviceId = `web-${userId}-${randomId('').slice(0, 8)}`;
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ userId, token, deviceId }));
  start({ userId, token, deviceId });
});

$('sign-out').addEventListener('click', () => {
  client?.end();
  state?.clear();
  sessionStorage.removeItem(SESSION_KEY);
  location.reload();
});

function start(session) {
  state = new ChatState(session.userId);
  client = new ImClient(session);
  $('login').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('me').textContent = session.userId;
  client.addEventListener('status', onStatus);
  client.addEventListener('message', (e) => onMessage(e.detail, true));
  client.addEventListener('sendAck', (e) => onSendAck(e.detail));
  client.addEventListener('sendError', (e) => onSendError(e.detail));
  client.addEventListener('readReceipt', (e) => onReadReceipt(e.detail));
  client.addEventListener('hint', (e) => syncConversations([e.detail.conversationId]).catch((error) => toast(error.message)));
  client.addEventListener('presence', (e) => onPresence(e.detail));
  const ui = { $, el, toast, showPane };
  rooms = new RoomView(client, ui);
  devices = new DeviceView(client, ui);
  renderList();
  client.connect();
}

// ---------- modes: chats, live rooms, devices ----------

for (const button of document.querySelectorAll('#modes button')) button.addEventListener('click', () => setMode(button.dataset.mode));

function setMode(next) {
  mode = next;
  for (const b of document.querySelectorAll('#modes button')) b.classList.toggle('active', b.dataset.mode === next);
  for (const pane of document.querySelectorAll('[data-pane]')) pane.hidden = pane.dataset.pane !== next;
  $('chat').hidden = next !== 'chats';
  $('room').hidden = next !== 'rooms';
  $('device').hidden = next !== 'devices';
  document.body.dataset.mode = next;
  document.body.classList.remove('chat-open');
  if (next === 'devices' && client?.status === 'online') devices.load();
}

/** A view opened something (a room, a device): on a phone the main pane takes the screen, as an open chat does. */
function showPane(name) {
  document.body.classList.toggle('chat-open', !!name);
}

for (const id of ['room-back', 'device-back']) $(id).addEventListener('click', () => showPane(null));

// ---------- connection and catch-up ----------

function onStatus({ detail }) {
  const el = $('connection');
  el.dataset.status = detail.status;
  el.textContent = detail.status;
  el.title = detail.detail || detail.status;
  if (detail.status === 'refused') {
    sessionStorage.removeItem(SESSION_KEY);
    $('login').hidden = false;
    $('app').hidden = true;
    $('login-error').textContent = detail.detail;
  }
  if (detail.status === 'online') {
    connects++;
    document.body.dataset.connects = String(connects);
    catchUp();
    rooms.rejoin();
    devices.resubscribe();
    if (mode === 'devices') devices.load();
  }
  else if (detail.detail) toast(detail.detail);
}

/** After every connect: the conversation list (unread, read positions), then sync from the cursors until nothing is left. */
async function catchUp() {
  try {
    const list = await client.rpc('conversations', { limit: 500 });
    for (const info of list.conversations?.conversations ?? []) {
      const c = state.get(info.conversationId);
      c.maxSeq = Math.max(c.maxSeq, Number(info.maxSeq ?? 0));
      c.readSeq = Math.max(c.readSeq, Number(info.readSeq ?? 0));
      c.pinned = !!info.pinned;
      c.lastActivityMs = Math.max(c.lastActivityMs, Number(info.lastActivityMs ?? 0));
      if (!c.started) {
        // A fresh device: start near the end; older messages come by history when scrolled back to.
        c.cursor = Math.max(0, c.maxSeq - FIRST_LOAD);
        c.hasOlder = c.cursor > 0;
        c.started = true;
      }
    }
    const before = countMessages();
    await syncConversations(null);
    syncedMessages += countMessages() - before;
    document.body.dataset.syncedMessages = String(syncedMessages);
    $('sync-status').textContent = `caught up by sync: ${syncedMessages} messages`;
    await watchPresence();
    loadGroupTitles();
    render();
  } catch (error) {
    toast(`catching up failed: ${error.message}`);
  }
}

function countMessages() {
  let n = 0;
  for (const c of state.conversations.values()) n += c.messages.size;
  return n;
}

/** im/rpc/sync from the cursors (of all conversations, or only `ids`), page by page. */
async function syncConversations(ids) {
  // Without ids the broker pages the conversations too: once a page of them is done it names where the next starts.
  let after = '';
  for (let page = 0; page < SYNC_PAGES; page++) {
    const cursors = {};
    for (const c of state.conversations.values()) {
      if (!ids || ids.includes(c.id)) cursors[c.id] = String(c.cursor);
    }
    const answer = await client.rpc('sync', { cursors, limit: 200, conversationIds: ids ?? [], afterConversationId: after });
    const sync = answer.sync ?? {};
    let received = 0;
    for (const cs of sync.conversations ?? []) {
      const c = state.get(cs.conversationId);
      c.started = true;
      c.maxSeq = Math.max(c.maxSeq, Number(cs.maxSeq ?? 0));
      for (const m of cs.messages ?? []) {
        c.add(m);
        received++;
      }
      // A seq that no longer exists (never, seq is contiguous) must not stall the loop: jump past it.
      if (!cs.messages?.length && c.cursor < c.maxSeq && !cs.hasMore) c.cursor = c.maxSeq;
    }
    if (sync.hasMore && received > 0) continue;
    if (sync.hasMore || !sync.nextAfterConversationId || sync.nextAfterConversationId <= after) break;
    after = sync.nextAfterConversationId;
  }
  render();
}

// ---------- inbox events ----------

function onMessage(message, live) {
  const c = state.get(message.conversationId);
  const gap = c.add(message);
  if (message.senderId === state.userId && message.kind !== Kinds.recall && message.kind !== Kinds.edit) {
    c.pending = c.pending.filter((p) => p.clientMsgId !== message.clientMsgId);
  }
  if (gap && live) scheduleGapFill(c.id);
  if (c.kind === 'group' && c.title === c.groupId && message.kind === Kinds.groupEvent) loadGroupTitles();
  if (c.kind === 'c2c') {
    if (message.senderId === c.peer) presenceRetries.delete(c.peer); // the peer wrote: a refused watch may be allowed now
    watchPresence();
  }
  render();
}

function scheduleGapFill(id) {
  if (gapTimers.has(id)) return;
  gapTimers.set(id, setTimeout(() => {
    gapTimers.delete(id);
    const c = state.get(id);
    if (c.cursor < c.maxSeq) syncConversations([id]).catch((e) => toast(e.message));
  }, 500));
}

function onSendAck(ack) {
  for (const c of state.conversations.values()) {
    const pending = c.pending.find((p) => p.clientMsgId === ack.clientMsgId);
    if (!pending) continue;
    c.pending = c.pending.filter((p) => p !== pending);
    const target = state.get(ack.conversationId);
    target.add({
      conversationId: ack.conversationId, seq: ack.seq, serverMsgId: ack.serverMsgId, clientMsgId: ack.clientMsgId,
      senderId: state.userId, senderDevice: client.deviceId, serverTimeMs: ack.serverTimeMs, text: pending.text,
    });
    if (target.id === openId) markRead(target);
    if (target.kind === 'c2c') watchPresence();
    render();
    return;
  }
}

function onSendError(error) {
  if (rooms?.owns(error.clientMsgId)) return; // a room send: the room view says why
  for (const c of state.conversations.values()) {
    const pending = c.pending.find((p) => p.clientMsgId === error.clientMsgId);
    if (pending) {
      pending.state = 'failed';
      pending.error = error.code || error.message;
    }
  }
  toast(`not sent: ${error.code} ${error.message ?? ''}`);
  render();
}

function onReadReceipt(receipt) {
  const c = state.get(receipt.conversationId);
  const seq = Number(receipt.readSeq ?? 0);
  if (receipt.readerId === state.userId) c.readSeq = Math.max(c.readSeq, seq); // read on another of my devices
  else c.peerReadSeq = Math.max(c.peerReadSeq, seq);
  render();
}

function onPresence(p) {
  state.presence.set(p.userId, p);
  render();
}

/** presence/{peer} for every 1:1 peer; a refusal (no shared conversation yet) is retried after the next message. */
async function watchPresence() {
  const peers = [...state.conversations.values()].filter((c) => c.kind === 'c2c' && c.maxSeq > 0 && !presenceWatched.has(c.peer)).map((c) => c.peer);
  if (!peers.length || client.status !== 'online') return;
  peers.forEach((p) => presenceWatched.add(p));
  const granted = await client.subscribe(peers.map((p) => `presence/${p}`)).catch(() => peers.map(() => 128));
  let refused = false;
  granted.forEach((qos, i) => {
    if (qos < 128) return;
    presenceWatched.delete(peers[i]);
    // The broker decides at subscribe time; the first message's conversation may not count yet: ask again, a few times.
    const tries = (presenceRetries.get(peers[i]) ?? 0) + 1;
    presenceRetries.set(peers[i], tries);
    if (tries <= PRESENCE_RETRIES) refused = true;
  });
  if (refused) setTimeout(() => watchPresence(), 2000);
}

async function loadGroupTitles() {
  for (const c of state.conversations.values()) {
    if (c.kind !== 'group' || c.title !== c.groupId || c.titleRequested) continue;
    c.titleRequested = true;
    client.rpc('group/info', { groupId: c.groupId })
      .then((answer) => { c.title = answer.group?.name || c.groupId; c.memberCount = answer.group?.memberCount; render(); })
      .catch(() => {});
  }
}

// ---------- actions ----------

function openConversation(id) {
  openId = id;
  editingSeq = null;
  $('chat').dataset.open = id;
  document.body.classList.add('chat-open');
  const c = state.get(id);
  markRead(c);
  render();
  scrollToEnd();
  $('composer-text').focus();
}

$('back').addEventListener('click', () => {
  openId = null;
  $('chat').dataset.open = '';
  document.body.classList.remove('chat-open');
  render();
});

$('new-chat').addEventListener('submit', (event) => {
  event.preventDefault();
  const peer = $('new-chat-user').value.trim();
  if (!peer || peer === state.userId) return;
  $('new-chat-user').value = '';
  openConversation(conversationIdWith(state.userId, peer));
});

$('new-group-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('new-group-name').value.trim();
  const userIds = $('new-group-members').value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  try {
    const answer = await client.rpc('group/create', { name, userIds });
    const c = state.get(`group:${answer.group.groupId}`);
    c.title = answer.group.name;
    c.started = true;
    $('new-group-name').value = '';
    $('new-group-members').value = '';
    $('new-group').open = false;
    openConversation(c.id);
  } catch (error) {
    toast(`group not created: ${error.message}`);
  }
});

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('composer-text').value.trim();
  if (!text || !openId) return;
  const c = state.get(openId);
  $('composer-text').value = '';
  if (editingSeq !== null) {
    const seq = editingSeq;
    setEditing(null);
    await change('edit', c, seq, text);
    return;
  }
  const clientMsgId = randomId('m');
  c.pending.push({ clientMsgId, text, state: 'sending' });
  render();
  scrollToEnd();
  try {
    await client.send(c.kind === 'group' ? 'group' : 'c2c', c.kind === 'group' ? c.groupId : c.peer, text, clientMsgId);
  } catch (error) {
    const pending = c.pending.find((p) => p.clientMsgId === clientMsgId);
    if (pending) {
      pending.state = 'failed';
      pending.error = error.message;
    }
    render();
  }
});

$('cancel-edit').addEventListener('click', () => setEditing(null));

function setEditing(seq) {
  editingSeq = seq;
  $('editing').hidden = seq === null;
  $('editing-seq').textContent = seq === null ? '' : `#${seq}`;
  if (seq !== null) {
    const m = state.get(openId).view().find((v) => v.seq === seq);
    $('composer-text').value = m?.editedText ?? m?.text ?? '';
    $('composer-text').focus();
  }
}

async function change(method, c, targetSeq, text) {
  try {
    const answer = await client.rpc(method, { conversationId: c.id, targetSeq: String(targetSeq), text: text ?? '', clientMsgId: randomId('c') });
    if (answer.changed) c.add(answer.changed);
    render();
  } catch (error) {
    toast(`${method} refused: ${error.message}`);
  }
}

/** Reads up to the newest seq when the conversation is on screen; the peer gets a read receipt. */
function markRead(c) {
  if (!c || c.maxSeq <= c.readSeq || document.visibilityState !== 'visible' || client.status !== 'online') return;
  const seq = c.maxSeq;
  c.readSeq = seq;
  client.rpc('read', { conversationId: c.id, seq: String(seq) })
    .then((answer) => { c.readSeq = Math.max(c.readSeq, Number(answer.read?.readSeq ?? 0)); render(); })
    .catch((error) => toast(`read failed: ${error.message}`));
}

document.addEventListener('visibilitychange', () => { if (openId) { markRead(state.get(openId)); render(); } });

$('load-older').addEventListener('click', () => loadOlder());
$('messages').addEventListener('scroll', () => { if ($('messages').scrollTop === 0 && !$('load-older').hidden) loadOlder(); });

let loadingOlder = false;
async function loadOlder() {
  if (!openId || loadingOlder) return;
  loadingOlder = true;
  const c = state.get(openId);
  const list = $('messages');
  const fromBottom = list.scrollHeight - list.scrollTop;
  try {
    const answer = await client.rpc('history', { conversationId: c.id, beforeSeq: String(c.oldestSeq), limit: 30 });
    for (const m of answer.history?.messages ?? []) c.add(m);
    c.hasOlder = !!answer.history?.hasMore;
    render();
    list.scrollTop = list.scrollHeight - fromBottom;
  } catch (error) {
    toast(`history failed: ${error.message}`);
  } finally {
    loadingOlder = false;
  }
}

// ---------- rendering ----------

let renderQueued = false;
function render() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    if (openId) markRead(state.get(openId));
    renderList();
    renderChat();
    state.save();
  });
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function presenceDot(userId) {
  const dot = el('span', 'dot');
  const p = state.presence.get(userId);
  dot.dataset.online = p ? String(!!p.online) : 'unknown';
  dot.title = p ? (p.online ? `online (${(p.devices ?? []).length} devices)` : 'offline') : 'presence not visible yet';
  return dot;
}

function renderList() {
  const ul = $('conversations');
  ul.replaceChildren(...state.ordered().map((c) => {
    const li = el('li', 'conversation');
    li.dataset.conversation = c.id;
    li.classList.toggle('active', c.id === openId);
    li.append(c.kind === 'c2c' ? presenceDot(c.peer) : el('span', `avatar ${c.kind}`, c.kind === 'group' ? '#' : '!'));
    const body = el('div', 'conversation-body');
    body.append(el('div', 'conversation-title', c.title), el('div', 'conversation-preview muted', c.preview()));
    li.append(body);
    if (c.unread > 0) li.append(el('span', 'badge', String(c.unread)));
    li.addEventListener('click', () => openConversation(c.id));
    return li;
  }));
  const total = state.totalUnread;
  $('total-unread').hidden = total === 0;
  $('total-unread').textContent = String(total);
  document.title = total ? `(${total}) MqttIm chat demo` : 'MqttIm chat demo';
}

function renderChat() {
  const composer = $('composer');
  if (!openId) {
    $('chat-title').textContent = 'Pick a conversation';
    $('chat-sub').textContent = '';
    $('chat-presence').hidden = true;
    $('message-list').replaceChildren();
    $('load-older').hidden = true;
    composer.hidden = true;
    return;
  }
  const c = state.get(openId);
  composer.hidden = c.kind === 'notify';
  $('chat-title').textContent = c.title;
  if (c.kind === 'c2c') {
    const p = state.presence.get(c.peer);
    $('chat-presence').hidden = false;
    $('chat-presence').dataset.online = p ? String(!!p.online) : 'unknown';
    $('chat-sub').textContent = p ? (p.online ? 'online' : 'offline') : '';
  } else {
    $('chat-presence').hidden = true;
    $('chat-sub').textContent = c.kind === 'group' ? (c.memberCount ? `group · ${c.memberCount} members` : 'group') : '';
  }
  $('load-older').hidden = !(c.hasOlder && c.oldestSeq > 1);

  const list = $('messages');
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const items = c.view().map((m) => renderMessage(c, m));
  for (const p of c.pending) {
    const li = el('li', 'msg mine pending');
    li.dataset.clientMsgId = p.clientMsgId;
    li.append(el('div', 'bubble', p.text), el('div', 'meta', p.state === 'failed' ? `not sent: ${p.error}` : 'sending…'));
    if (p.state === 'failed') li.classList.add('failed');
    items.push(li);
  }
  $('message-list').replaceChildren(...items);
  if (atEnd) scrollToEnd();
}

function renderMessage(c, m) {
  if (m.kind === Kinds.groupEvent) {
    const li = el('li', 'msg event', m.text);
    li.dataset.seq = String(m.seq);
    return li;
  }
  const mine = m.senderId === state.userId;
  const li = el('li', `msg ${mine ? 'mine' : 'theirs'}`);
  li.dataset.seq = String(m.seq);
  if (!mine && c.kind !== 'c2c') li.append(el('div', 'sender', m.senderId));
  if (m.kind === Kinds.notification) {
    li.classList.add('notification');
    li.append(el('div', 'sender', `P${m.priority ?? 0} · ${m.notificationType ?? 'notification'}`));
    if (m.title) li.append(el('div', 'notification-title', m.title));
  }
  const bubble = el('div', 'bubble', m.recalled ? 'message recalled' : (m.editedText ?? m.text ?? (m.data ? '[binary data]' : '')));
  if (m.recalled) bubble.classList.add('recalled');
  li.append(bubble);
  const meta = el('div', 'meta');
  meta.append(el('span', 'time', time(m.serverTimeMs)), el('span', 'seq muted', `#${m.seq}`));
  if (m.editedText !== undefined && !m.recalled) meta.append(el('span', 'edited', 'edited'));
  if (mine && c.kind === 'c2c') {
    const read = c.peerReadSeq >= m.seq;
    const receipt = el('span', `receipt ${read ? 'read' : 'sent'}`, read ? '✓✓ Read' : '✓ Sent');
    meta.append(receipt);
  }
  if (mine && !m.recalled && m.kind !== Kinds.notification && Date.now() - Number(m.serverTimeMs ?? 0) < CHANGE_WINDOW_MS) {
    const edit = el('button', 'link action-edit', 'edit');
    edit.type = 'button';
    edit.addEventListener('click', () => setEditing(m.seq));
    const recall = el('button', 'link action-recall', 'recall');
    recall.type = 'button';
    recall.addEventListener('click', () => change('recall', c, m.seq));
    meta.append(edit, recall);
  }
  li.append(meta);
  return li;
}

function time(ms) {
  const n = Number(ms ?? 0);
  return n ? new Date(n).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
}

function scrollToEnd() {
  requestAnimationFrame(() => { const list = $('messages'); list.scrollTop = list.scrollHeight; });
}

let toastTimer = null;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
}

// ---------- boot ----------

showDemoButton();
const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
if (saved?.userId && saved?.token) start(saved);
