// What one signed-in page knows about its conversations, kept in sessionStorage so a reload resumes from the same
// cursors and catches up by sync (docs/PROTOCOL.md#receiver-side-rectification). Pure data: no DOM, no MQTT.
const KEPT_MESSAGES = 200;

export const Kinds = {
  recall: 'MESSAGE_KIND_RECALL',
  edit: 'MESSAGE_KIND_EDIT',
  notification: 'MESSAGE_KIND_NOTIFICATION',
  groupEvent: 'MESSAGE_KIND_GROUP_EVENT',
};

export function parseConversationId(id, me) {
  if (id.startsWith('c2c:')) {
    const [, a, b] = id.split(':');
    return { kind: 'c2c', peer: a === me ? b : a };
  }
  if (id.startsWith('group:')) return { kind: 'group', groupId: id.slice(6) };
  if (id.startsWith('notify:')) return { kind: 'notify' };
  return { kind: 'other' };
}

export class Conversation {
  constructor(id, me) {
    Object.assign(this, parseConversationId(id, me));
    this.id = id;
    this.messages = new Map(); // seq → ChatMessage (seq as a number)
    this.cursor = 0; // highest contiguous seq held
    this.maxSeq = 0;
    this.readSeq = 0; // mine
    this.peerReadSeq = 0; // the peer's, from read receipts (1:1)
    this.hasOlder = false;
    this.started = false; // cursors set from the conversation list or a sync
    this.title = this.kind === 'c2c' ? this.peer : this.kind === 'notify' ? 'Notifications' : this.groupId ?? id;
    this.lastActivityMs = 0;
    this.pinned = false;
    this.pending = []; // my sends without an ack yet: { clientMsgId, text, state, error }
  }

  get unread() {
    return Math.max(0, this.maxSeq - this.readSeq);
  }

  get oldestSeq() {
    let oldest = Infinity;
    for (const seq of this.messages.keys()) oldest = Math.min(oldest, seq);
    return oldest === Infinity ? this.cursor + 1 : oldest;
  }

  /** Stores one message; returns true when it leaves a gap above the cursor (a sync should fill it). */
  add(message) {
    const seq = Number(message.seq ?? 0);
    if (seq <= 0) return false;
    this.messages.set(seq, { ...message, seq });
    this.maxSeq = Math.max(this.maxSeq, seq);
    this.lastActivityMs = Math.max(this.lastActivityMs, Number(message.serverTimeMs ?? 0));
    while (this.messages.has(this.cursor + 1)) this.cursor++;
    return seq > this.cursor;
  }

  /** The messages to show, oldest first, with recalls and edits applied to their targets. */
  view() {
    const seqs = [...this.messages.keys()].sort((a, b) => a - b);
    const changes = new Map();
    for (const seq of seqs) {
      const m = this.messages.get(seq);
      if (m.kind === Kinds.recall || m.kind === Kinds.edit) {
        const target = Number(m.targetSeq);
        const previous = changes.get(target) ?? {};
        changes.set(target, m.kind === Kinds.recall ? { ...previous, recalled: true } : { ...previous, editedText: m.text });
      }
    }
    return seqs
      .map((seq) => this.messages.get(seq))
      .filter((m) => m.kind !== Kinds.recall && m.kind !== Kinds.edit)
      .map((m) => ({ ...m, ...(changes.get(m.seq) ?? {}) }));
  }

  /** A one-line preview for the conversation list. */
  preview() {
    const shown = this.view();
    const last = shown[shown.length - 1];
    if (!last) return '';
    if (last.recalled) return 'message recalled';
    return `${last.kind === Kinds.groupEvent || last.kind === Kinds.notification ? '' : last.senderId + ': '}${last.title ? last.title + ' — ' : ''}${last.editedText ?? last.text ?? ''}`;
  }

  toJSON() {
    const kept = [...this.messages.values()].sort((a, b) => a.seq - b.seq).slice(-KEPT_MESSAGES);
    return {
      id: this.id, messages: kept, cursor: this.cursor, maxSeq: this.maxSeq, readSeq: this.readSeq,
      peerReadSeq: this.peerReadSeq, hasOlder: this.hasOlder || (kept.length > 0 && kept[0].seq > 1),
      started: this.started, title: this.title, lastActivityMs: this.lastActivityMs, pinned: this.pinned,
    };
  }

  static fromJSON(json, me) {
    const c = new Conversation(json.id, me);
    for (const m of json.messages ?? []) c.messages.set(m.seq, m);
    Object.assign(c, {
      cursor: json.cursor, maxSeq: json.maxSeq, readSeq: json.readSeq, peerReadSeq: json.peerReadSeq,
      hasOlder: json.hasOlder, started: json.started, title: json.title, lastActivityMs: json.lastActivityMs, pinned: json.pinned,
    });
    return c;
  }
}

export class ChatState {
  constructor(userId) {
    this.userId = userId;
    this.key = `mqttim.chat.${userId}`;
    this.conversations = new Map();
    this.presence = new Map(); // userId → PresenceState
    this.restoredMessages = 0;
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.key) ?? 'null');
      for (const json of saved?.conversations ?? []) {
        const c = Conversation.fromJSON(json, userId);
        this.conversations.set(c.id, c);
        this.restoredMessages += c.messages.size;
      }
    } catch {
      sessionStorage.removeItem(this.key);
    }
  }

  get(id) {
    let c = this.conversations.get(id);
    if (!c) {
      c = new Conversation(id, this.userId);
      this.conversations.set(id, c);
    }
    return c;
  }

  get totalUnread() {
    let total = 0;
    for (const c of this.conversations.values()) total += c.unread;
    return total;
  }

  /** Pinned first, then latest activity (like the server's conversation list). */
  ordered() {
    return [...this.conversations.values()].sort((a, b) => (b.pinned - a.pinned) || (b.lastActivityMs - a.lastActivityMs) || a.id.localeCompare(b.id));
  }

  save() {
    sessionStorage.setItem(this.key, JSON.stringify({ conversations: [...this.conversations.values()] }));
  }

  clear() {
    sessionStorage.removeItem(this.key);
  }
}
