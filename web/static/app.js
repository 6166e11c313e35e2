// The page: the join form, the room view, and window.tessera, a read-only
// view of the state plus a few actions, for scripts and tests.

import { RoomCall } from './call.js';

const $ = id => document.getElementById(id);
const el = {
  serverStatus: $('server-status'),
  alert: $('alert'),
  alertText: $('alert-text'),
  alertClose: $('alert-close'),
  status: $('status'),
  joinView: $('join-view'),
  form: $('join-form'),
  display: $('display'),
  room: $('room'),
  pin: $('pin'),
  joinButton: $('join-button'),
  roomView: $('room-view'),
  roomTitle: $('room-title'),
  video: $('composite'),
  audio: $('mix'),
  waiting: $('waiting'),
  unmuteAudio: $('unmute-audio'),
  rec: $('rec'),
  mic: $('mic'),
  cam: $('cam'),
  share: $('share'),
  layout: $('layout'),
  record: $('record'),
  recordForm: $('record-form'),
  recordSecret: $('record-secret'),
  recordCancel: $('record-cancel'),
  leave: $('leave'),
  count: $('count'),
  participants: $('participants'),
  rowTemplate: $('participant-row'),
  stat: {
    send: $('stat-send'),
    recv: $('stat-recv'),
    loss: $('stat-loss'),
    rtt: $('stat-rtt'),
    video: $('stat-video'),
    transport: $('stat-transport'),
  },
};

let call = null;
const errors = [];

// Janus endpoints on the server that served this page: WebSocket first,
// HTTP long-poll when WebSockets are blocked (some proxies). The address
// may pin one with ?transport=ws or ?transport=http.
function servers() {
  const ws = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const all = { ws: `${ws}//${location.host}/janus`, http: `${location.origin}/janus` };
  const only = new URLSearchParams(location.search).get('transport');
  return all[only] ? [all[only]] : [all.ws, all.http];
}

// Messages.

/** Turns a failure into a sentence for people, not developers. */
function explain(err, room) {
  const name = err?.name;
  if (err?.kind === 'plugin') {
    switch (err.code) {
      case 485:
        return `Room ${room} does not exist. Check the number and try again.`;
      case 489:
        return /full/i.test(err.message) ? `Room ${room} is full.` : `Wrong PIN for room ${room}.`;
      case 482:
        return `The server refused: ${err.message}.`;
      default:
        return `The server refused: ${err.message}.`;
    }
  }
  if (err?.kind === 'unreachable') return 'Cannot reach the Tessera server. Check your network connection and try again.';
  if (err?.kind === 'timeout') return 'The server did not answer in time. Please try again.';
  if (err?.kind === 'closed') {
    return /timed out/i.test(err.message)
      ? 'Your session timed out. Please join again.'
      : 'The connection to the server was lost. Please join again.';
  }
  if (err?.kind === 'recording') return 'The recording stopped because of a server problem.';
  if (err?.kind === 'room') return `${err.message[0].toUpperCase()}${err.message.slice(1)}.`;
  if (err?.kind === 'media') return 'The media connection failed. A firewall may be blocking it; please try again.';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'Camera or microphone access was denied. Allow it in your browser’s site settings, or join as “Watch only”.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera or microphone was found. Try “Microphone only” or “Watch only”.';
  if (name === 'NotReadableError' || name === 'AbortError') return 'Your camera or microphone is in use by another application.';
  if (name === 'NotSupportedError') return `This browser cannot do that here: ${err.message}.`;
  return `Something went wrong: ${err?.message || err}.`;
}

function record(err, message) {
  errors.push({
    message,
    kind: err?.kind ?? err?.name ?? 'error',
    code: err?.code ?? 0,
    stage: err?.stage ?? '',
    detail: String(err?.message ?? err),
    at: new Date().toISOString(),
  });
}

function showAlert(message) {
  el.alertText.textContent = message;
  el.alert.hidden = false;
}

function hideAlert() {
  el.alert.hidden = true;
  el.alertText.textContent = '';
}

function fail(err, room = call?.room) {
  const message = explain(err, room);
  record(err, message);
  console.warn(err);
  showAlert(message);
}

function announce(text) {
  // Re-setting the same text is not announced; clear first.
  el.status.textContent = '';
  requestAnimationFrame(() => {
    el.status.textContent = text;
  });
}

// The join form.

function readForm() {
  const data = new FormData(el.form);
  return {
    display: String(data.get('display') || '').trim(),
    room: String(data.get('room') || '').trim(),
    pin: String(data.get('pin') || ''),
    mode: String(data.get('mode') || 'camera'),
  };
}

function validate({ display, room }) {
  if (!display) return [el.display, 'Please enter your name.'];
  if (!/^\d{1,15}$/.test(room)) return [el.room, 'The room number is made of digits only.'];
  return null;
}

async function join(opts) {
  if (call) return;
  hideAlert();
  const bad = validate(opts);
  if (bad) {
    bad[0].setAttribute('aria-invalid', 'true');
    bad[0].focus();
    showAlert(bad[1]);
    return;
  }
  for (const input of [el.display, el.room]) input.removeAttribute('aria-invalid');
  try {
    localStorage.setItem('tessera.display', opts.display);
  } catch {
    /* storage may be disabled */
  }

  const room = Number(opts.room);
  call = new RoomCall({ servers: servers(), room, display: opts.display, pin: opts.pin, mode: opts.mode });
  wire(call);
  setBusy(true);
  announce(`Joining room ${room}…`);
  try {
    await call.join();
  } catch (err) {
    call = null;
    setBusy(false);
    fail(err, room);
    el.joinButton.focus();
    render();
    return;
  }
  setBusy(false);
}

function setBusy(busy) {
  el.joinButton.disabled = busy;
  el.joinButton.textContent = busy ? 'Joining…' : 'Join';
  el.form.setAttribute('aria-busy', String(busy));
}

// The room.

function wire(c) {
  c.on('state', state => {
    if (state === 'joined') {
      announce(`You joined room ${c.room}.`);
      el.roomTitle.textContent = `Room ${c.room}`;
    }
    render();
    if (state === 'joined') (el.mic.hidden ? el.leave : el.mic).focus();
  });
  c.on('participants', renderParticipants);
  c.on('joined-peer', p => announce(`${p.display || 'Someone'} joined.`));
  c.on('left-peer', p => announce(`${p.display || 'Someone'} left.`));
  c.on('layout', renderLayout);
  c.on('local', renderControls);
  c.on('stats', renderStats);
  c.on('recording', renderRecording);
  c.on('notice', announce);
  c.on('problem', err => fail(err, c.room));
  c.on('track', attachTrack);
  c.on('ended', ({ reason, error }) => {
    if (call === c) call = null;
    detachMedia();
    if (error) fail(error, c.room);
    else announce('You left the room.');
    render();
    el.display.focus();
  });
}

function attachTrack(track) {
  const target = track.kind === 'video' ? el.video : el.audio;
  target.srcObject = new MediaStream([track]);
  if (track.kind === 'video') {
    el.video.addEventListener('loadeddata', () => { el.waiting.hidden = true; }, { once: true });
    el.video.play().catch(() => { /* muted video may always play; ignore */ });
  } else {
    playAudio();
  }
}

// Browsers may refuse to play sound before the user interacted with the
// page; then we offer a button, and a click on it is that interaction.
function playAudio() {
  el.audio.play().then(
    () => { el.unmuteAudio.hidden = true; },
    err => {
      if (err.name === 'NotAllowedError') {
        el.unmuteAudio.hidden = false;
        announce('Sound is blocked by the browser. Use the “click to listen” button.');
      }
    },
  );
}

function detachMedia() {
  el.video.srcObject = null;
  el.audio.srcObject = null;
  el.waiting.hidden = false;
  el.unmuteAudio.hidden = true;
}

function render() {
  const state = call?.state ?? 'idle';
  const inRoom = state === 'joined' || state === 'leaving';
  el.joinView.hidden = inRoom;
  el.roomView.hidden = !inRoom;
  document.body.dataset.state = state;
  if (!inRoom) {
    renderParticipants([]);
    renderRecording(false);
    hideRecordForm();
    recordSecret = '';
    return;
  }
  renderControls();
  renderParticipants(call.participantList());
  renderLayout(call.layout);
}

function renderControls() {
  if (!call) return;
  const leaving = call.state !== 'joined';
  // Controls for media this mode does not send are hidden, not disabled.
  el.mic.hidden = !call.canSendAudio;
  el.cam.hidden = !call.canSendVideo;
  el.share.hidden = !call.canSendVideo;
  el.mic.disabled = leaving || !call.canSendAudio;
  // These buttons say what they will do, so their state is in the label;
  // data-active only colours them.
  el.mic.textContent = call.muted ? 'Unmute' : 'Mute';
  el.mic.dataset.active = String(call.muted);
  el.cam.disabled = leaving || !call.canSendVideo;
  el.cam.textContent = call.cameraOn ? 'Stop camera' : 'Start camera';
  el.cam.dataset.active = String(!call.cameraOn && call.canSendVideo);
  el.share.disabled = leaving || !call.canSendVideo || !navigator.mediaDevices?.getDisplayMedia;
  el.share.textContent = call.sharing ? 'Stop sharing' : 'Share screen';
  el.share.dataset.active = String(call.sharing);
  el.layout.disabled = leaving;
  el.record.disabled = leaving;
  el.leave.disabled = leaving;
}

// Rows are kept per participant and updated in place, so frequent talking
// events do not rebuild the list under a keyboard user's focus.
const rows = new Map(); // participant id -> <li>

function renderParticipants(list) {
  const seen = new Set();
  list.forEach((p, i) => {
    seen.add(p.id);
    let row = rows.get(p.id);
    if (!row) {
      row = el.rowTemplate.content.firstElementChild.cloneNode(true);
      row.dataset.id = String(p.id);
      row.querySelector('.pin').addEventListener('click', () => togglePin(p.id));
      rows.set(p.id, row);
    }
    const name = p.display || `Participant ${p.id}`;
    row.classList.toggle('self', p.self);
    row.classList.toggle('talking', p.talking);
    row.classList.toggle('is-muted', p.muted);
    row.querySelector('.name').textContent = name;
    row.querySelector('.you').hidden = !p.self;
    row.querySelector('.muted-badge').hidden = !p.muted;
    row.querySelector('.talking-text').hidden = !p.talking;
    // A toggle: pressed while this participant is the large picture.
    const pin = row.querySelector('.pin');
    pin.setAttribute('aria-pressed', String(isPinned(p.id)));
    pin.setAttribute('aria-label', `Show large: ${name}`);
    pin.disabled = call?.state !== 'joined';
    if (el.participants.children[i] !== row) el.participants.insertBefore(row, el.participants.children[i] ?? null);
  });
  for (const [id, row] of rows) {
    if (!seen.has(id)) {
      row.remove();
      rows.delete(id);
    }
  }
  el.count.textContent = list.length ? `(${list.length})` : '';
}

function isPinned(id) {
  return call?.layout.layout === 'presentation' && call.layout.pinned === id;
}

// Pressing a participant's "Show large" shows them large; pressing it again
// goes back to the grid.
function togglePin(id) {
  return isPinned(id) ? changeLayout('grid') : changeLayout('presentation', id);
}

function renderLayout({ layout }) {
  el.layout.value = layout;
  if (call) renderParticipants(call.participantList());
}

function renderRecording(on) {
  el.rec.hidden = !on;
  el.record.textContent = on ? 'Stop recording' : 'Start recording';
  el.record.dataset.active = String(on);
}

function renderStats(s) {
  el.stat.send.textContent = `${s.sendKbps} kbps`;
  el.stat.recv.textContent = `${s.recvKbps} kbps`;
  el.stat.loss.textContent = `${s.lossPercent} %`;
  el.stat.rtt.textContent = s.rttMs === null ? '–' : `${s.rttMs} ms`;
  el.stat.video.textContent = s.frameWidth
    ? `${s.frameWidth}×${s.frameHeight}${s.fps === null ? '' : ` at ${s.fps} fps`}`
    : '–';
  el.stat.transport.textContent = call?.transport === 'http' ? 'HTTP long-poll' : 'WebSocket';
}

// Actions: each reports its failure without leaving the room.

async function act(fn) {
  try {
    return await fn();
  } catch (err) {
    fail(err);
    return undefined;
  }
}

function changeLayout(layout, pin) {
  if (!call) return Promise.resolve();
  if (layout === 'presentation' && !pin) {
    // Keep whoever is pinned; else show the first other participant, else ourselves.
    const others = call.participantList().filter(p => !p.self);
    pin = call.layout.pinned || others[0]?.id || call.id;
  }
  return act(() => call.setLayout(layout, pin)).finally(() => el.layout.value = call?.layout.layout ?? layout);
}

// Recording needs the room's secret when the room has one; it is asked
// for when the server says so and kept for the rest of the visit.
let recordSecret = '';

async function toggleRecording(secret = recordSecret) {
  if (!call) return;
  const action = call.recording ? 'stop' : 'start';
  try {
    await call.record(action, secret);
    recordSecret = secret;
    hideRecordForm();
    announce(action === 'start' ? 'Recording started.' : 'Recording stopped.');
  } catch (err) {
    if (err.kind === 'plugin' && err.code === 489) {
      const message = secret ? 'Wrong room secret. Recording needs the room’s secret.' : 'Recording this room needs its secret.';
      record(err, message);
      showAlert(message);
      showRecordForm();
    } else {
      fail(err);
    }
  }
}

function showRecordForm() {
  el.recordForm.hidden = false;
  el.recordSecret.value = '';
  el.recordSecret.focus();
}

function hideRecordForm() {
  el.recordForm.hidden = true;
  el.recordSecret.value = '';
}

el.form.addEventListener('submit', ev => {
  ev.preventDefault();
  join(readForm());
});
el.alertClose.addEventListener('click', hideAlert);
el.mic.addEventListener('click', () => act(() => call?.setMuted(!call.muted)));
el.cam.addEventListener('click', () => act(() => call?.setCamera(!call.cameraOn)));
el.share.addEventListener('click', () => act(() => (call?.sharing ? call.stopShare() : call?.startShare())));
el.layout.addEventListener('change', () => changeLayout(el.layout.value));
el.record.addEventListener('click', () => toggleRecording());
el.recordForm.addEventListener('submit', ev => {
  ev.preventDefault();
  hideAlert();
  toggleRecording(el.recordSecret.value);
});
el.recordCancel.addEventListener('click', () => {
  hideRecordForm();
  el.record.focus();
});
el.leave.addEventListener('click', () => act(() => call?.leave()));
el.unmuteAudio.addEventListener('click', playAudio);
// Closing the page leaves the room now rather than at the session timeout.
window.addEventListener('pagehide', () => call?.abandon());

// Start-up: prefill from the address (?room=…&name=…) and from last time.
{
  const params = new URLSearchParams(location.search);
  let name = params.get('name');
  if (!name) {
    try {
      name = localStorage.getItem('tessera.display');
    } catch {
      /* storage may be disabled */
    }
  }
  if (name) el.display.value = name;
  if (params.get('room')) el.room.value = params.get('room');
  const mode = params.get('mode');
  if (mode) {
    const radio = el.form.querySelector(`input[name="mode"][value="${CSS.escape(mode)}"]`);
    if (radio) radio.checked = true;
  }
  render();
  fetch('healthz')
    .then(r => r.json())
    .then(h => {
      el.serverStatus.textContent = `Server ${h.status === 'ok' ? 'online' : h.status} · ${h.version}`;
      el.serverStatus.dataset.ok = String(h.status === 'ok');
    })
    .catch(() => {
      el.serverStatus.textContent = 'Server unreachable';
      el.serverStatus.dataset.ok = 'false';
    });
}

// State and actions for scripts and tests. Values are copies.
window.tessera = Object.freeze({
  get state() { return call?.state ?? 'idle'; },
  get id() { return call?.id ?? 0; },
  get room() { return call?.room ?? 0; },
  get mode() { return call?.mode ?? null; },
  get transport() { return call?.transport ?? null; },
  get participants() {
    return (call?.participantList() ?? []).map(({ id, display, muted, talking, setup, self }) => ({ id, display, muted, talking, setup, self }));
  },
  get layout() { return call?.layout.layout ?? null; },
  get pinned() { return call?.layout.pinned ?? 0; },
  get muted() { return call?.muted ?? false; },
  get cameraOn() { return call?.cameraOn ?? false; },
  get sharing() { return call?.sharing ?? false; },
  get recording() { return call?.recording ?? false; },
  get tier() { return call?.tier ? { ...call.tier } : null; },
  get errors() { return errors.map(e => ({ ...e })); },
  get stats() { return call?.stats ? { ...call.stats } : null; },
  get audioBlocked() { return !el.unmuteAudio.hidden; },
  join: (opts = {}) => join({ ...readForm(), ...opts, room: String(opts.room ?? readForm().room) }),
  leave: () => act(() => call?.leave()),
  setMuted: muted => act(() => call?.setMuted(muted)),
  setCamera: on => act(() => call?.setCamera(on)),
  setLayout: (layout, pin) => changeLayout(layout, pin),
  startShare: () => act(() => call?.startShare()),
  stopShare: () => act(() => call?.stopShare()),
  tiles: () => (call ? call.tiles() : Promise.reject(new Error('not in a room'))),
  toggleRecording,
});
