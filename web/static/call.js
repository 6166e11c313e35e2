// One visit to a Tessera room through janus.plugin.mcu: local media, the
// Janus session, the PeerConnection that sends our camera and microphone and
// receives the room's composite picture and mix, and the room's state
// (participants, layout, recording). No DOM here; app.js renders it.
//
// Events:
//   "state"        ("connecting" | "joined" | "leaving" | "idle")
//   "participants" (array of {id, display, muted, talking, setup, self})
//   "joined-peer" / "left-peer" (participant), for announcements
//   "layout"       ({layout, pinned})
//   "track"        (MediaStreamTrack) a remote track: the mix or the composite
//   "stats"        (derived stats, see stats.js)
//   "recording"    (boolean)
//   "tier"         ({tier, width, height}) the composite's size we are sent
//   "local"        ({muted, cameraOn, sharing}) after a local change
//   "notice"       (text) something worth telling, not an error
//   "problem"      (JanusError) something went wrong but the visit goes on
//   "ended"        ({reason, error}) the visit is over; error is set when it
//                  ended against the user's will

import { connect, Emitter, JanusError } from './janus.js';
import { sampleStats } from './stats.js';

export const PLUGIN = 'janus.plugin.mcu';

// What each join mode captures. Everything not captured is still received.
export const MODES = {
  camera: { audio: true, video: true },
  audio: { audio: true, video: false },
  viewer: { audio: false, video: false },
};

const CAMERA = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } };
const MICROPHONE = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const SCREEN = { width: { max: 1920 }, height: { max: 1080 }, frameRate: { max: 15 } };

export class RoomCall extends Emitter {
  state = 'idle';
  id = 0;
  participants = new Map();
  layout = { layout: 'grid', pinned: 0 };
  muted = false;
  cameraOn = false;
  sharing = false;
  recording = false;
  tier = null;
  stats = null;
  session = null;
  handle = null;
  pc = null;

  #stream = null; // what getUserMedia gave us
  #camera = null; // the live camera track, or null while the camera is off
  #screen = null; // the screen track while sharing
  #audioTx = null;
  #videoTx = null;
  #trickleReady = false;
  #queuedCandidates = [];
  #stopStats = null;
  #ended = false;
  #layoutBeforeShare = null;

  /** servers: Janus URLs to try in order; room: number; mode: a MODES key. */
  constructor({ servers, room, display, pin = '', mode = 'camera' }) {
    super();
    if (!MODES[mode]) throw new Error(`unknown mode ${mode}`);
    Object.assign(this, { servers, room, display, pin, mode });
  }

  get canSendVideo() {
    return MODES[this.mode].video;
  }

  get canSendAudio() {
    return MODES[this.mode].audio;
  }

  get transport() {
    return this.session?.transport ?? null;
  }

  /** Captures media, connects, joins and negotiates. Rejects (and cleans
   *  up) on any failure; err.stage says which step failed. */
  async join() {
    this.#setState('connecting');
    try {
      await this.#step('media', () => this.#capture());
      this.session = await this.#step('connect', () => connect(this.servers));
      this.session.on('lost', reason => this.#fail('lost', new JanusError(reason, { kind: 'closed' })));
      this.session.on('timeout', () => this.#fail('timeout', new JanusError('session timed out', { kind: 'closed' })));
      this.handle = await this.#step('attach', () => this.session.attach(PLUGIN));
      this.handle.on('event', data => this.#onEvent(data));
      this.handle.on('hangup', reason => this.#fail('hangup', new JanusError(`the server hung up (${reason})`, { kind: 'media' })));
      this.handle.on('webrtcup', () => {
        this.#patchSelf({ setup: true });
        this.emit('notice', 'Media connected.');
      });

      const body = { request: 'join', room: this.room, display: this.display, muted: false };
      if (this.pin) body.pin = this.pin;
      const { data } = await this.#step('join', () => this.handle.message(body));
      this.id = data.id;
      this.participants.set(this.id, { id: this.id, display: this.display, muted: false, talking: false, setup: false, self: true });
      for (const p of data.participants ?? []) this.#upsert(p);
      if (data.video) this.#setLayout(data.video.layout, data.video.pinned);
      this.#setRecording(Boolean(data.recording));
      this.#emitParticipants();

      await this.#step('negotiate', () => this.#negotiate());
      this.#stopStats = sampleStats(this.pc, s => {
        this.stats = s;
        this.emit('stats', s);
      });
      this.#setState('joined');
    } catch (err) {
      await this.#teardown({ quiet: true });
      this.#setState('idle');
      throw err;
    }
  }

  /** Leaves the room politely and releases everything. */
  async leave() {
    if (this.state === 'idle' || this.state === 'leaving') return;
    this.#setState('leaving');
    if (this.handle && this.session?.connected) {
      try {
        await this.handle.message({ request: 'leave' });
      } catch (err) {
        console.warn('leave:', err.message);
      }
    }
    await this.#teardown({ quiet: false });
    this.#finish('left', null);
  }

  /** The page is going away: no time for a polite leave. */
  abandon() {
    this.session?.abandon();
    this.pc?.close();
    for (const t of [...(this.#stream?.getTracks() ?? []), this.#camera, this.#screen]) t?.stop();
  }

  async setMuted(muted) {
    if (!this.canSendAudio) return;
    await this.handle.message({ request: 'configure', muted });
    // Also silence the track itself, so nothing leaves this machine.
    for (const t of this.#stream?.getAudioTracks() ?? []) t.enabled = !muted;
    this.muted = muted;
    this.#patchSelf({ muted });
    this.emit('local', this.#local());
  }

  /** Turns the camera off (the tile shows our name instead) or back on.
   *  Off really stops the capture, so the camera light goes out. */
  async setCamera(on) {
    if (!this.canSendVideo || on === this.cameraOn) return;
    if (on) {
      const stream = await navigator.mediaDevices.getUserMedia({ video: CAMERA });
      this.#camera = stream.getVideoTracks()[0];
      if (!this.sharing) await this.#videoTx.sender.replaceTrack(this.#camera);
    } else {
      if (!this.sharing) await this.#videoTx.sender.replaceTrack(null);
      this.#camera?.stop();
      this.#camera = null;
    }
    this.cameraOn = on;
    this.emit('local', this.#local());
  }

  /** Sends the screen instead of the camera and shows it large to the room. */
  async startShare() {
    if (!this.canSendVideo || this.sharing) return;
    if (!navigator.mediaDevices?.getDisplayMedia) throw new Error('this browser cannot share the screen');
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: SCREEN, audio: false });
    const track = stream.getVideoTracks()[0];
    if ('contentHint' in track) track.contentHint = 'detail';
    // The browser's own "Stop sharing" ends the track.
    track.addEventListener('ended', () => this.stopShare().catch(err => this.emit('notice', `Could not stop sharing: ${err.message}`)));
    await this.#videoTx.sender.replaceTrack(track);
    this.#screen = track;
    this.sharing = true;
    this.emit('local', this.#local());
    this.#layoutBeforeShare = { ...this.layout };
    await this.setLayout('presentation', this.id);
  }

  /** Back to the camera (if on) and to the layout before the share, unless
   *  someone changed the layout meanwhile. */
  async stopShare() {
    if (!this.sharing) return;
    this.sharing = false;
    const screen = this.#screen;
    this.#screen = null;
    if (this.#videoTx && this.pc?.signalingState !== 'closed') await this.#videoTx.sender.replaceTrack(this.#camera);
    screen?.stop();
    this.emit('local', this.#local());
    const before = this.#layoutBeforeShare ?? { layout: 'grid', pinned: 0 };
    this.#layoutBeforeShare = null;
    const stillOurs = this.layout.layout === 'presentation' && this.layout.pinned === this.id;
    if (this.state === 'joined' && stillOurs) {
      const pinnedUs = before.layout === 'presentation' && before.pinned === this.id;
      if (pinnedUs || (before.layout === 'presentation' && !this.participants.has(before.pinned))) await this.setLayout('grid');
      else await this.setLayout(before.layout, before.pinned);
    }
  }

  async setLayout(layout, pin = 0) {
    const body = { request: 'layout', layout };
    if (pin) body.pin = pin;
    const { data } = await this.handle.message(body);
    this.#setLayout(data.layout ?? layout, data.pinned ?? pin);
  }

  /** Where each participant is on the composite. */
  async tiles() {
    const { data } = await this.handle.message({ request: 'tiles', room: this.room });
    return data;
  }

  /** Starts or stops recording the room ("start" | "stop"). Recording is
   *  the room owner's call: a room with a secret needs it (else the server
   *  answers 489). */
  async record(action, secret = '') {
    const body = { request: 'record', action };
    if (secret) body.secret = secret;
    const { data } = await this.handle.message(body);
    if (typeof data.recording === 'boolean') this.#setRecording(data.recording);
    else this.#setRecording(action === 'start');
    return data;
  }

  // Internals.

  async #step(stage, fn) {
    try {
      return await fn();
    } catch (err) {
      err.stage ??= stage;
      throw err;
    }
  }

  async #capture() {
    const want = MODES[this.mode];
    if (!want.audio && !want.video) return;
    if (!navigator.mediaDevices?.getUserMedia) {
      const err = new Error('this page needs a secure context (https) to use the camera and microphone');
      err.name = 'NotSupportedError';
      throw err;
    }
    this.#stream = await navigator.mediaDevices.getUserMedia({
      audio: want.audio ? MICROPHONE : false,
      video: want.video ? CAMERA : false,
    });
    this.#camera = this.#stream.getVideoTracks()[0] ?? null;
    this.cameraOn = Boolean(this.#camera);
  }

  async #negotiate() {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const mic = this.#stream?.getAudioTracks()[0];
    // Always exactly one audio and one video m-line: what we do not send,
    // we still receive (the mix and the composite).
    this.#audioTx = mic
      ? pc.addTransceiver(mic, { direction: 'sendrecv', streams: [this.#stream] })
      : pc.addTransceiver('audio', { direction: 'recvonly' });
    this.#videoTx = this.#camera
      ? pc.addTransceiver(this.#camera, { direction: 'sendrecv', streams: [this.#stream] })
      : pc.addTransceiver('video', { direction: 'recvonly' });

    pc.addEventListener('track', ev => this.emit('track', ev.track));
    pc.addEventListener('icecandidate', ev => this.#candidate(ev.candidate));
    pc.addEventListener('iceconnectionstatechange', () => {
      switch (pc.iceConnectionState) {
        case 'failed':
          this.#fail('ice', new JanusError('the media connection failed', { kind: 'media' }));
          break;
        case 'disconnected':
          this.emit('notice', 'Media connection interrupted, trying to recover…');
          break;
        case 'connected':
        case 'completed':
          break;
      }
    });

    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const { jsep } = await this.handle.message({ request: 'configure', muted: false }, pc.localDescription);
    if (!jsep || jsep.type !== 'answer') throw new JanusError('the server sent no answer to our offer', { kind: 'janus' });
    await pc.setRemoteDescription(jsep);
    // The server applies trickled candidates only once it has our offer,
    // so we queue them until the answer is in.
    this.#trickleReady = true;
    for (const c of this.#queuedCandidates.splice(0)) this.#sendCandidate(c);
  }

  #candidate(c) {
    // c is null once gathering is complete.
    if (this.#trickleReady) this.#sendCandidate(c);
    else this.#queuedCandidates.push(c);
  }

  #sendCandidate(c) {
    if (!this.handle || !this.session?.connected) return;
    this.handle.trickle(c && c.candidate ? c : null).catch(err => console.debug('trickle:', err.message));
  }

  #onEvent(data) {
    switch (data.mcu) {
      case 'joined':
        for (const p of data.participants ?? []) {
          const isNew = !this.participants.has(p.id);
          this.#upsert(p);
          if (isNew) this.emit('joined-peer', this.participants.get(p.id));
        }
        this.#emitParticipants();
        break;
      case 'talking':
      case 'stopped-talking':
        this.#patch(data.id, { talking: data.mcu === 'talking' });
        break;
      case 'destroyed':
        this.#fail('destroyed', new JanusError('the room was closed', { kind: 'room' }));
        break;
      case 'event':
        this.#onRoomEvent(data);
        break;
    }
  }

  #onRoomEvent(data) {
    if (Array.isArray(data.participants)) {
      for (const p of data.participants) {
        this.#upsert(p);
        // Only a moderator's mute or unmute tells us about ourselves.
        if (p.id === this.id && typeof p.muted === 'boolean' && p.muted !== this.muted) {
          this.muted = p.muted;
          // Follow it locally too: a moderator's unmute must not leave our
          // own microphone switched off.
          for (const t of this.#stream?.getAudioTracks() ?? []) t.enabled = !p.muted;
          this.emit('local', this.#local());
          this.emit('notice', p.muted ? 'A moderator muted you.' : 'A moderator unmuted you.');
        }
      }
      this.#emitParticipants();
    } else if ('muted' in data && !('id' in data)) {
      this.emit('notice', data.muted ? 'The moderator muted the room.' : 'The moderator unmuted the room.');
    }
    if (data.leaving !== undefined) this.#remove(data.leaving);
    if (data.kicked !== undefined) {
      if (data.kicked === this.id) this.#fail('kicked', new JanusError('you were removed from the room', { kind: 'room' }));
      else this.#remove(data.kicked);
    }
    if (typeof data.layout === 'string') this.#setLayout(data.layout, data.pinned);
    if (data.video && typeof data.video.tier === 'number') {
      this.tier = { tier: data.video.tier, width: data.video.width, height: data.video.height };
      this.emit('tier', { ...this.tier });
    }
    if (typeof data.recording === 'boolean') {
      this.#setRecording(data.recording);
      // A recording the server had to stop (a full disk) says why.
      if (!data.recording && data.error) this.emit('problem', new JanusError(`recording stopped: ${data.error}`, { kind: 'recording' }));
    }
    if (data.error_code) this.emit('notice', `The server reported: ${data.error}`);
  }

  #upsert(p) {
    const old = this.participants.get(p.id);
    this.participants.set(p.id, {
      id: p.id,
      display: p.display ?? old?.display ?? '',
      muted: p.muted ?? old?.muted ?? false,
      talking: p.talking ?? old?.talking ?? false,
      setup: p.setup ?? old?.setup ?? false,
      self: p.id === this.id,
    });
  }

  #patch(id, fields) {
    const p = this.participants.get(id);
    if (!p) return;
    this.participants.set(id, { ...p, ...fields });
    this.#emitParticipants();
  }

  #patchSelf(fields) {
    this.#patch(this.id, fields);
  }

  #remove(id) {
    const p = this.participants.get(id);
    if (!p) return;
    this.participants.delete(id);
    this.emit('left-peer', p);
    this.#emitParticipants();
  }

  #emitParticipants() {
    this.emit('participants', this.participantList());
  }

  /** Participants, yourself first, then by name. */
  participantList() {
    return [...this.participants.values()].sort(
      (a, b) => Number(b.self) - Number(a.self) || a.display.localeCompare(b.display) || a.id - b.id,
    );
  }

  #setLayout(layout, pinned) {
    this.layout = { layout, pinned: pinned || 0 };
    this.emit('layout', { ...this.layout });
  }

  #setRecording(on) {
    if (this.recording === on) return;
    this.recording = on;
    this.emit('recording', on);
  }

  #local() {
    return { muted: this.muted, cameraOn: this.cameraOn, sharing: this.sharing };
  }

  // #fail ends the visit because of something outside the user's control.
  async #fail(reason, error) {
    if (this.#ended || this.state !== 'joined') return; // join() and leave() clean up themselves
    await this.#teardown({ quiet: reason !== 'kicked' && reason !== 'ice' && reason !== 'hangup' });
    this.#finish(reason, error);
  }

  #finish(reason, error) {
    if (this.#ended) return;
    this.#ended = true;
    this.#setState('idle');
    this.emit('ended', { reason, error });
  }

  // #teardown releases everything. quiet skips the server round trips
  // (the session is gone or never was complete).
  async #teardown({ quiet }) {
    this.#stopStats?.();
    this.#stopStats = null;
    for (const t of [...(this.#stream?.getTracks() ?? []), this.#camera, this.#screen]) t?.stop();
    this.#stream = this.#camera = this.#screen = null;
    this.pc?.close();
    if (this.handle && this.session?.connected) await this.handle.detach();
    if (this.session?.connected) {
      if (quiet) this.session.destroy(); // do not wait
      else await this.session.destroy();
    }
    this.sharing = false;
    this.cameraOn = false;
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}
