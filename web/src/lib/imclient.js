// A small MqttIm client over MQTT.js: MQTT 5 over WebSocket at /mqtt, the proto3 JSON encoding (the same payloads
// as mosquitto_pub), RPCs by requestId answered on the inbox (docs/PROTOCOL.md#rpc). Events are dispatched as
// DOM CustomEvents: 'status', 'message', 'sendAck', 'sendError', 'readReceipt', 'hint', 'presence', 'roomFrame'
// (room/{roomId}) and 'device' (device/{id}/state and device/{id}/telemetry/…, with the topic).
import mqtt from 'mqtt';

const RPC_TIMEOUT_MS = 15000;

export function conversationIdWith(me, peer) {
  return me < peer ? `c2c:${me}:${peer}` : `c2c:${peer}:${me}`;
}

export function randomId(prefix) {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class ImClient extends EventTarget {
  constructor({ userId, token, deviceId }) {
    super();
    this.userId = userId;
    this.token = token;
    this.deviceId = deviceId;
    this.pending = new Map(); // requestId → { resolve, reject, timer }
    this.client = null;
    this.status = 'offline';
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.client = mqtt.connect(`${scheme}://${location.host}/mqtt`, {
      protocolVersion: 5,
      username: this.userId,
      password: this.token,
      clientId: this.deviceId,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10000,
      resubscribe: false, // the 'connect' handler subscribes on every (re)connect, then catches up by sync
      // send_ack=inbox: the demo learns its messages' seqs from the inbox send-ack (mqtt.js does not surface PUBACK properties).
      properties: { userProperties: { format: 'json', platform: 'web', send_ack: 'inbox' } },
    });
    this.client.on('connect', () => this.onConnected());
    this.client.on('message', (topic, payload, packet) => this.onPacket(topic, payload, packet));
    this.client.on('reconnect', () => this.setStatus('connecting'));
    this.client.on('offline', () => this.setStatus('offline'));
    this.client.on('close', () => { if (this.status === 'online') this.setStatus('offline'); });
    this.client.on('error', (error) => {
      // A refused CONNECT (bad or expired token) will not get better by retrying: stop and say so.
      if (error && (error.code === 134 || error.code === 135 || error.code === 133)) {
        this.client.end(true);
        this.setStatus('refused', `the broker refused the sign-in (${error.message})`);
      } else {
        this.setStatus(this.status, error?.message ?? String(error));
      }
    });
    this.setStatus('connecting');
  }

  async onConnected() {
    try {
      await this.subscribe([`inbox/${this.userId}`]);
      this.setStatus('online');
    } catch (error) {
      this.setStatus('offline', `subscribing to the inbox failed: ${error.message}`);
    }
  }

  setStatus(status, detail = '') {
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: { status, detail } }));
  }

  end() {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error('signed out'));
    }
    this.pending.clear();
    this.client?.end(true);
  }

  /** Subscribes; resolves with the granted QoS per filter (128 or more = refused, e.g. presence not allowed). */
  subscribe(filters) {
    return new Promise((resolve, reject) => {
      // Object form with resubscribe: MQTT.js otherwise skips a filter it sent before, even one the broker refused
      // (a presence watch asked again once the peer has written).
      const request = Object.fromEntries(filters.map((f) => [f, { qos: 1 }]));
      request.resubscribe = true;
      this.client.subscribe(request, (error, granted) => {
        if (!error) {
          resolve((granted ?? []).map((g) => g.qos));
          return;
        }
        // A refused filter fails the whole call; the SUBACK in the error says which ones were refused.
        const codes = error.packet?.granted;
        if (Array.isArray(codes) && codes.length === filters.length) resolve(codes);
        else reject(error);
      });
    });
  }

  unsubscribe(filters) {
    this.client.unsubscribe(filters);
  }

  publishJson(topic, body) {
    return new Promise((resolve, reject) => {
      this.client.publish(topic, JSON.stringify(body), { qos: 1, properties: { contentType: 'application/json' } }, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /** Sends a 1:1 (`c2c`) or group message; the seq comes back as a 'sendAck' event with the same clientMsgId. */
  send(kind, target, text, clientMsgId) {
    const topic = kind === 'group' ? `im/group/${target}` : `im/c2c/${target}`;
    return this.publishJson(topic, { clientMsgId, text });
  }

  /** Calls im/rpc/{method} and resolves with the RpcResponse (rejects with its error code and message). */
  rpc(method, request = {}) {
    const requestId = randomId('r');
    const answer = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`${method}: no answer within ${RPC_TIMEOUT_MS / 1000} s`));
      }, RPC_TIMEOUT_MS);
      this.pending.set(requestId, { resolve, reject, timer });
    });
    this.publishJson(`im/rpc/${method}`, { ...request, requestId }).catch((error) => {
      // An MQTT 5 error PUBACK also arrives; the RpcResponse with the reason follows on the inbox, so only log it.
      this.dispatchEvent(new CustomEvent('status', { detail: { status: this.status, detail: `${method}: ${error.message}` } }));
    });
    return answer;
  }

  /** Same as fetch, with this user's access token as Authorization: Bearer (the device API accepts it for owned devices). */
  async http(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : null;
    if (!response.ok) throw new Error(`${response.status} ${json?.title ?? ''}${json?.detail ? ': ' + json.detail : ''}`);
    return json;
  }

  onPacket(topic, payload, packet) {
    if (topic.startsWith('device/')) {
      // Telemetry is whatever the device sent (JSON or not): hand it on as it is, with the broker's receive time.
      const received = packet?.properties?.userProperties?.receivedMs;
      this.dispatchEvent(new CustomEvent('device', { detail: { topic, payload, receivedMs: Number(received) || Date.now() } }));
      return;
    }
    let body;
    try {
      body = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return; // not JSON: not for this page
    }

    if (topic.startsWith('room/')) {
      this.dispatchEvent(new CustomEvent('roomFrame', { detail: body }));
      return;
    }

    if (topic.startsWith('presence/')) {
      this.dispatchEvent(new CustomEvent('presence', { detail: body }));
      return;
    }

    if (body.rpc) {
      const call = this.pending.get(body.rpc.requestId);
      if (!call) return;
      this.pending.delete(body.rpc.requestId);
      clearTimeout(call.timer);
      if (body.rpc.error) {
        const error = new Error(`${body.rpc.error.code}: ${body.rpc.error.message ?? ''}`);
        error.code = body.rpc.error.code;
        call.reject(error);
      } else {
        call.resolve(body.rpc);
      }
      return;
    }

    for (const name of ['message', 'sendAck', 'sendError', 'readReceipt', 'hint']) {
      if (body[name]) {
        this.dispatchEvent(new CustomEvent(name, { detail: body[name] }));
        return;
      }
    }
  }
}
