#!/usr/bin/python3
"""Publishes a GStreamer test pattern and tone into a room over WHIP.

GStreamer's webrtcbin makes the sendonly offer; this script does the WHIP
exchange itself (POST the offer once ICE gathering is complete, apply the
answer, DELETE the session at the end). It reports on stdout as JSON lines:

  {"event":"published","status":201,"location":URL}  the session exists
  {"event":"connected"}                               ICE and DTLS are up
  {"event":"stopped","status":200}                    DELETE answered
  {"event":"refused","status":401,"body":"..."}       POST refused: exit 1
  {"event":"error","message":"..."}                   anything else: exit 2

It stops on a line "stop" on stdin or at the end of stdin (unless
--no-stdin), on SIGTERM or SIGINT, or after --seconds. ICE runs on
127.0.0.1 only: the server must reach the publisher there.

  /usr/bin/python3 whip-gst.py --url http://127.0.0.1:8088/whip/1234 \
      --token TOKEN --freq 440 --pattern red

Needs Debian's python3-gi, gir1.2-gst-plugins-bad-1.0, gir1.2-nice-0.1,
gstreamer1.0-nice and gstreamer1.0-plugins-base/-good/-bad.
"""

import argparse
import json
import os
import select
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class Failure(Exception):
    """Ends the script with {"event":"error"} and exit status 2."""


def branches(args):
    """The audio and the video branch, each ending in RTP caps that
    webrtcbin turns into an m-line."""
    audio = (
        f"audiotestsrc is-live=true wave=sine freq={args.freq} volume=0.5 ! "
        "audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! "
        "queue ! opusenc bitrate=32000 frame-size=20 ! rtpopuspay pt=100 ssrc=1 ! queue ! "
        "capsfilter caps=application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=100"
    )
    video = (
        f"videotestsrc is-live=true pattern={args.pattern} ! "
        f"video/x-raw,width={args.width},height={args.height},framerate=15/1 ! "
        "videoconvert ! queue ! vp8enc deadline=1 cpu-used=8 keyframe-max-dist=30 "
        "target-bitrate=500000 ! rtpvp8pay pt=96 ssrc=2 ! queue ! "
        "capsfilter caps=application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96,"
        "rtcp-fb-nack-pli=(boolean)true"
    )
    return audio, video


def keep_ice_on_loopback(webrtc):
    """Makes libnice gather on 127.0.0.1 only (it otherwise gathers on
    every interface): the agent is given its local address when webrtcbin
    makes its nicesink, which is before gathering starts."""
    addr = Nice.Address.new()
    if not addr.set_from_string("127.0.0.1"):
        raise Failure("cannot parse 127.0.0.1")

    def added(_bin, _sub, element):
        factory = element.get_factory()
        if factory is not None and factory.get_name() == "nicesink":
            element.get_property("agent").add_local_address(addr)

    webrtc.connect("deep-element-added", added)


def build(args):
    pipeline = Gst.Pipeline.new("whip")
    webrtc = Gst.ElementFactory.make("webrtcbin", "pub")
    webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    keep_ice_on_loopback(webrtc)
    pipeline.add(webrtc)
    for desc in branches(args):
        branch = Gst.parse_bin_from_description(desc, True)
        pipeline.add(branch)
        if not branch.link(webrtc):
            raise Failure(f"cannot link {desc!r} to webrtcbin")
    return pipeline, webrtc


def wait_until(what, cond, seconds):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not within {seconds} s")
        time.sleep(0.02)


def promise_reply(promise, seconds=10):
    # Promise.wait blocks without a timeout; webrtcbin answers quickly or
    # not at all, so bound it from outside.
    done = threading.Event()
    threading.Thread(target=lambda: (promise.wait(), done.set()), daemon=True).start()
    if not done.wait(seconds):
        raise Failure("webrtcbin did not answer")
    return promise.get_reply()


def http(method, url, token=None, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/sdp")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def offer(webrtc, negotiate):
    if not negotiate.wait(10):
        raise Failure("webrtcbin never asked for negotiation")
    i = 0
    while (t := webrtc.emit("get-transceiver", i)) is not None:
        t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        i += 1
    if i != 2:
        raise Failure(f"webrtcbin made {i} transceivers, want audio and video")
    p = Gst.Promise.new()
    webrtc.emit("create-offer", None, p)
    reply = promise_reply(p)
    desc = reply.get_value("offer") if reply else None
    if desc is None:
        raise Failure(f"create-offer failed: {reply.to_string() if reply else 'no reply'}")
    p = Gst.Promise.new()
    webrtc.emit("set-local-description", desc, p)
    promise_reply(p)
    complete = GstWebRTC.WebRTCICEGatheringState.COMPLETE
    wait_until("ICE gathering", lambda: webrtc.get_property("ice-gathering-state") == complete, 10)
    sdp = webrtc.get_property("local-description").sdp.as_text()
    cands = [line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")]
    if not cands or any(c != "127.0.0.1" for c in cands):
        raise Failure(f"the offer's candidates are not all on 127.0.0.1: {cands}")
    return sdp


def answer(webrtc, sdp):
    ok, msg = GstSdp.SDPMessage.new_from_text(sdp)
    if ok != GstSdp.SDPResult.OK:
        raise Failure("the answer is not SDP")
    desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
    p = Gst.Promise.new()
    webrtc.emit("set-remote-description", desc, p)
    promise_reply(p)


def check_bus(pipeline):
    """Raises the pipeline's first error, if it posted one."""
    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    if msg is not None:
        err, debug = msg.parse_error()
        raise Failure(f"{err.message} ({debug})")


def connected(pipeline, webrtc):
    check_bus(pipeline)
    state = webrtc.get_property("connection-state")
    if state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
        raise Failure("the connection failed")
    return state == GstWebRTC.WebRTCPeerConnectionState.CONNECTED


def run(args, stop):
    Gst.init(None)
    pipeline, webrtc = build(args)
    negotiate = threading.Event()
    webrtc.connect("on-negotiation-needed", lambda _: negotiate.set())
    pipeline.set_state(Gst.State.PLAYING)
    location = None
    try:
        sdp = offer(webrtc, negotiate)
        status, headers, body = http("POST", args.url, args.token, sdp.encode())
        if status != 201:
            say(event="refused", status=status, body=body.strip())
            return 1
        location = urllib.parse.urljoin(args.url, headers.get("Location", ""))
        say(event="published", status=status, location=location)
        answer(webrtc, body)
        wait_until("connection", lambda: connected(pipeline, webrtc), 15)
        say(event="connected")
        deadline = time.monotonic() + args.seconds if args.seconds > 0 else None
        while not stop.is_set():
            if deadline is not None and time.monotonic() > deadline:
                break
            connected(pipeline, webrtc)
            stop.wait(0.1)
        status, _, _ = http("DELETE", location)
        location = None
        say(event="stopped", status=status)
        return 0
    finally:
        if location is not None:
            try:
                http("DELETE", location)
            except OSError:
                pass
        pipeline.set_state(Gst.State.NULL)


def watch_stdin(stop):
    """Sets stop on a line "stop" or at the end of stdin."""
    fd = sys.stdin.fileno()
    buf = b""
    while not stop.is_set():
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        chunk = os.read(fd, 256)
        if not chunk:
            break
        buf += chunk
        if b"stop" in buf:
            break
    stop.set()


def main():
    ap = argparse.ArgumentParser(description="Publish a test pattern and a tone over WHIP.")
    ap.add_argument("--url", required=True, help="the WHIP endpoint, http://HOST:PORT/whip/ROOM")
    ap.add_argument("--token", default="", help="the Bearer token (minted, or the room's secret)")
    ap.add_argument("--freq", type=float, default=440, help="tone frequency in Hz")
    ap.add_argument("--pattern", default="red", help="videotestsrc pattern (red, green, blue, smpte, ...)")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: wait for stop)")
    ap.add_argument("--no-stdin", action="store_true", help="do not read stdin for stop")
    args = ap.parse_args()

    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.set())
    if not args.no_stdin:
        threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    try:
        return run(args, stop)
    except Failure as e:
        say(event="error", message=str(e))
        return 2
    except OSError as e:
        say(event="error", message=f"HTTP: {e}")
        return 2
    except GLib.Error as e:
        say(event="error", message=f"GStreamer: {e.message}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
