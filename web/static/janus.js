// A small client for the Janus API: one session over a WebSocket (or HTTP
// long-poll when WebSockets are unavailable), plugin handles, and requests
// that resolve as promises.
//
// Janus answers a request in one of three ways:
//   - "success" or "error" with the request's transaction: done;
//   - "ack": for keepalive and trickle that is the answer; for a plugin
//     message it only means "queued", and the real answer follows later as
//     an "event" carrying the same transaction;
//   - nothing, for messages the server pushes on its own ("event" without a
//     transaction, "webrtcup", "media", "hangup", "detached", "timeout").
// Pushed messages are dispatched to the handle named by their "sender".

const REQUEST_TIMEOUT_MS = 30000;
const CONNECT_TIMEOUT_MS = 8000;
const KEEPALIVE_MS = 25000;

/** Why a Janus operation failed. `kind` is one of:
 *  "janus" (a core error, `code` from the Janus API),
 *  "plugin" (a plugin's error_code in its event),
 *  "unreachable" (no transport could reach the server),
 *  "closed" (the connection or session went away),
 *  "timeout" (no answer in time). */
export class JanusError extends Error {
  constructor(message, { kind, code = 0, data = null } = {}) {
    super(message);
    this.name = 'JanusError';
    this.kind = kind;
    this.code = code;
    this.data = data;
  }
}

/** A minimal event emitter: on(type, fn) returns an unsubscribe function. */
export class Emitter {
  #listeners = new Map();

  on(type, fn) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(fn);
    return () => this.#listeners.get(type)?.delete(fn);
  }

  emit(type, ...args) {
    for (const fn of this.#listeners.get(type) ?? []) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`listener for "${type}" failed`, err);
      }
    }
  }
}

function randomString(n = 12) {
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, b => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
}

// Transports deliver every message they receive, replies and pushed events
// alike, to onmessage; the session sorts them out by transaction.

class WebSocketTransport {
  name = 'websocket';
  onmessage = () => {};
  onclose = () => {};
  #ws = null;

  constructor(url) {
    this.url = url;
  }

  open(timeoutMs = CONNECT_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      let settled = false;
      let ws;
      try {
        ws = new WebSocket(this.url, 'janus-protocol');
      } catch (err) {
        reject(new JanusError(`cannot open ${this.url}: ${err.message}`, { kind: 'unreachable' }));
        return;
      }
      const fail = reason => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.onopen = ws.onerror = ws.onclose = null;
        try { ws.close(); } catch { /* already closing */ }
        reject(new JanusError(`WebSocket ${this.url}: ${reason}`, { kind: 'unreachable' }));
      };
      const timer = setTimeout(() => fail('no answer'), timeoutMs);
      ws.onerror = () => fail('connection failed');
      ws.onclose = () => fail('closed while connecting');
      ws.onopen = () => {
        settled = true;
        clearTimeout(timer);
        this.#ws = ws;
        ws.onerror = null;
        ws.onmessage = ev => {
          let msg;
          try {
            msg = JSON.parse(ev.data);
          } catch {
            console.warn('ignoring a non-JSON frame from the server');
            return;
          }
          this.onmessage(msg);
        };
        ws.onclose = ev => {
          this.#ws = null;
          this.onclose(`WebSocket closed (${ev.code})`);
        };
        resolve();
      };
    });
  }

  // send throws when the socket is gone, so a request fails at once.
  async send(msg) {
    if (!this.#ws || this.#ws.readyState !== WebSocket.OPEN) {
      throw new JanusError('not connected', { kind: 'closed' });
    }
    this.#ws.send(JSON.stringify(msg));
  }

  close() {
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000);
    }
  }
}

class HttpTransport {
  name = 'http';
  onmessage = () => {};
  onclose = () => {};
  #sessionId = 0;
  #polling = null;
  #pollStopped = false;
  #closed = false;

  constructor(url) {
    this.url = url.replace(/\/+$/, '');
  }

  async open() {
    // Nothing to open: the first POST (create) tells whether the server is
    // there.
  }

  async send(msg) {
    if (this.#closed) throw new JanusError('not connected', { kind: 'closed' });
    // Once the session is being destroyed, a new poll would only get a 404.
    if (msg.janus === 'destroy') this.#stopPolling();
    let path = this.url;
    if (msg.session_id) path += `/${msg.session_id}`;
    if (msg.handle_id) path += `/${msg.handle_id}`;
    let reply;
    try {
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(msg),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      reply = await res.json();
    } catch (err) {
      const kind = msg.janus === 'create' ? 'unreachable' : 'closed';
      throw new JanusError(`${path}: ${err.message}`, { kind });
    }
    // Start polling as soon as a session exists.
    if (msg.janus === 'create' && reply.janus === 'success') this.#startPolling(reply.data.id);
    this.onmessage(reply);
  }

  #startPolling(sessionId) {
    this.#sessionId = sessionId;
    const loop = async () => {
      let failures = 0;
      while (!this.#closed && !this.#pollStopped) {
        this.#polling = new AbortController();
        try {
          const res = await fetch(`${this.url}/${this.#sessionId}?maxev=10&rid=${Date.now()}`, {
            signal: this.#polling.signal,
            cache: 'no-store',
          });
          if (this.#pollStopped) return;
          if (res.status === 404) {
            this.#lost('the server no longer knows this session');
            return;
          }
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          const body = await res.json();
          failures = 0;
          for (const msg of Array.isArray(body) ? body : [body]) {
            if (msg.janus !== 'keepalive') this.onmessage(msg);
          }
        } catch (err) {
          if (this.#closed || this.#pollStopped) return;
          // One failed poll can be a hiccup; three in a row is a lost server.
          if (++failures >= 3) {
            this.#lost(`long poll failed: ${err.message}`);
            return;
          }
          await new Promise(r => setTimeout(r, 1000));
        }
      }
    };
    loop();
  }

  #stopPolling() {
    this.#pollStopped = true;
    this.#polling?.abort();
  }

  #lost(reason) {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose(reason);
  }

  close() {
    this.#closed = true;
    this.#stopPolling();
  }

  // beacon sends msg in a way that survives the page being unloaded.
  beacon(msg) {
    let path = this.url;
    if (msg.session_id) path += `/${msg.session_id}`;
    return navigator.sendBeacon?.(path, JSON.stringify(msg)) ?? false;
  }
}

/** Connects to a Janus server and creates a session. `servers` are tried
 *  in order (e.g. a ws:// URL, then an http:// one); the first that works
 *  is used. */
export async function connect(servers, { timeoutMs = CONNECT_TIMEOUT_MS } = {}) {
  const failures = [];
  for (const url of servers) {
    const transport = /^wss?:/i.test(url) ? new WebSocketTransport(url) : new HttpTransport(url);
    try {
      await transport.open(timeoutMs);
      const session = new Session(transport);
      await session.create(timeoutMs);
      return session;
    } catch (err) {
      transport.close();
      // A Janus error means the server is there and said no; anything else
      // (refused, dropped, silent) is worth another transport.
      if (err.kind === 'janus') throw err;
      failures.push(err.message);
    }
  }
  throw new JanusError(`cannot reach the server (${failures.join('; ')})`, { kind: 'unreachable' });
}

/** A Janus session. Events: "lost" (reason), "timeout". */
export class Session extends Emitter {
  id = 0;
  #transport;
  #pending = new Map(); // transaction -> {resolve, reject, async, timer}
  #handles = new Map(); // handle id -> Handle
  #keepalive = 0;
  #gone = false;

  constructor(transport) {
    super();
    this.#transport = transport;
    transport.onmessage = msg => this.#receive(msg);
    transport.onclose = reason => this.#lose(new JanusError(`connection lost: ${reason}`, { kind: 'closed' }), 'lost');
  }

  /** "websocket" or "http". */
  get transport() {
    return this.#transport.name;
  }

  get connected() {
    return !this.#gone;
  }

  async create(timeoutMs) {
    const reply = await this.request({ janus: 'create' }, { timeoutMs });
    this.id = reply.data.id;
    this.#keepalive = setInterval(() => {
      this.request({ janus: 'keepalive' }).catch(err => {
        // 458: the server no longer knows us (it restarted, or reaped us).
        if (err.kind === 'janus' && err.code === 458) this.#lose(new JanusError('the session is gone', { kind: 'closed' }), 'lost');
        else console.warn('keepalive failed', err.message);
      });
    }, KEEPALIVE_MS);
  }

  /** Sends msg with a fresh transaction and resolves with the final reply.
   *  With async, an "ack" is only an interim answer. */
  request(msg, { async = false, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
    if (this.#gone) return Promise.reject(new JanusError('the session is closed', { kind: 'closed' }));
    const transaction = randomString();
    const full = { ...msg, transaction };
    if (this.id && !full.session_id) full.session_id = this.id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(transaction);
        reject(new JanusError(`no answer to "${msg.janus}" in ${timeoutMs / 1000} s`, { kind: 'timeout' }));
      }, timeoutMs);
      this.#pending.set(transaction, { resolve, reject, async, timer });
      this.#transport.send(full).catch(err => {
        const p = this.#pending.get(transaction);
        if (!p) return;
        this.#pending.delete(transaction);
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Attaches to a plugin and returns its Handle. */
  async attach(plugin) {
    const reply = await this.request({ janus: 'attach', plugin, opaque_id: `tessera-${randomString(8)}` });
    const handle = new Handle(this, reply.data.id, plugin);
    this.#handles.set(handle.id, handle);
    return handle;
  }

  forget(handle) {
    this.#handles.delete(handle.id);
  }

  /** Destroys the session on the server and closes the transport. Never
   *  throws: leaving must work even when the server is gone. */
  async destroy() {
    if (this.#gone) return;
    try {
      await this.request({ janus: 'destroy' }, { timeoutMs: 3000 });
    } catch (err) {
      console.warn('destroy:', err.message);
    }
    this.#close();
  }

  /** Best effort for a page being closed: a WebSocket session ends with
   *  its socket anyway; a long-poll one is destroyed with a beacon instead
   *  of lingering until it times out. */
  abandon() {
    if (this.#gone) return;
    if (this.#transport.beacon) this.#transport.beacon({ janus: 'destroy', session_id: this.id, transaction: randomString() });
    this.#close();
  }

  #receive(msg) {
    const tx = msg.transaction;
    const pending = tx && this.#pending.get(tx);
    if (pending) {
      if (msg.janus === 'ack' && pending.async) return; // the event follows
      this.#pending.delete(tx);
      clearTimeout(pending.timer);
      if (msg.janus === 'error') {
        const { code = 0, reason = 'unknown error' } = msg.error || {};
        pending.reject(new JanusError(reason, { kind: 'janus', code }));
      } else {
        pending.resolve(msg);
      }
      return;
    }
    if (msg.janus === 'timeout') {
      this.#lose(new JanusError('the session timed out', { kind: 'closed' }), 'timeout');
      return;
    }
    const handle = this.#handles.get(msg.sender);
    if (handle) {
      handle.dispatch(msg);
    } else if (msg.janus !== 'ack' && msg.janus !== 'detached') {
      console.debug('unrouted Janus message', msg);
    }
  }

  #lose(err, event) {
    if (this.#gone) return;
    this.#close();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#pending.clear();
    this.emit(event, err.message);
  }

  #close() {
    this.#gone = true;
    clearInterval(this.#keepalive);
    this.#transport.close();
  }
}

/** A handle on a plugin. Events: "event" (data, jsep), "webrtcup",
 *  "media" ({type, receiving, mid}), "hangup" (reason), "detached". */
export class Handle extends Emitter {
  constructor(session, id, plugin) {
    super();
    this.session = session;
    this.id = id;
    this.plugin = plugin;
  }

  /** Sends a plugin request. Resolves with {data, jsep}; a plugin error
   *  (error_code in the data) rejects with a JanusError of kind "plugin". */
  async message(body, jsep) {
    const msg = { janus: 'message', handle_id: this.id, body };
    if (jsep) msg.jsep = { type: jsep.type, sdp: jsep.sdp };
    const reply = await this.session.request(msg, { async: true });
    const data = reply.plugindata?.data ?? {};
    if (data.error_code) {
      throw new JanusError(data.error || `plugin error ${data.error_code}`, { kind: 'plugin', code: data.error_code, data });
    }
    return { data, jsep: reply.jsep ?? null };
  }

  /** Trickles one candidate; null means gathering is complete. */
  trickle(candidate) {
    const c = candidate
      ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
      : { completed: true };
    return this.session.request({ janus: 'trickle', handle_id: this.id, candidate: c });
  }

  async detach() {
    this.session.forget(this);
    if (!this.session.connected) return;
    try {
      await this.session.request({ janus: 'detach', handle_id: this.id }, { timeoutMs: 3000 });
    } catch (err) {
      console.warn('detach:', err.message);
    }
  }

  dispatch(msg) {
    switch (msg.janus) {
      case 'event':
        this.emit('event', msg.plugindata?.data ?? {}, msg.jsep ?? null);
        break;
      case 'webrtcup':
        this.emit('webrtcup');
        break;
      case 'media':
        this.emit('media', { type: msg.type, receiving: msg.receiving, mid: msg.mid });
        break;
      case 'hangup':
        this.emit('hangup', msg.reason || 'hangup');
        break;
      case 'detached':
        this.emit('detached');
        break;
      default:
        console.debug('unhandled handle message', msg);
    }
  }
}
