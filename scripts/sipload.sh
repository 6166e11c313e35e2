#!/usr/bin/env bash
# Measures the CPU cost of SIP participants next to WebRTC ones: builds the
# server, pins it to the last core, starts it on loopback with room 1234
# and its SIP listener, and runs scripts/sipload (WebRTC peers through the
# Janus API, SIP phones over real INVITEs, G.711 and Opus) on the other
# cores. VIDEO > 0 adds the video steps: VIDEO WebRTC participants with a
# camera, then VIDEO SIP room systems (PCMU + H.264), each decoding the
# composite. Further arguments go to sipload (-camera vp8, -camera-fps 15,
# -camera-noise 20, -settle 5s...).
#
#   scripts/sipload.sh [N] [WINDOW] [ROUNDS] [VIDEO] [sipload flags...]
#   scripts/sipload.sh 20 10s 3
#   scripts/sipload.sh 20 10s 3 6 -camera h264
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20} window=${2:-10s} rounds=${3:-3} video=${4:-0}
shift $(( $# < 4 ? $# : 4 ))
for cmd in taskset curl python3; do
  command -v "$cmd" >/dev/null || { echo "sipload: $cmd missing" >&2; exit 1; }
done
. scripts/env.sh
tmp=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/tessera" ./cmd/tessera
go build -o "$tmp/sipload" ./scripts/sipload
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(freeport) sport=$(freeport)
last=$(( $(nproc) - 1 ))
others=0-$(( last > 0 ? last - 1 : 0 ))
taskset -c "$last" "$tmp/tessera" -listen "127.0.0.1:$port" -ws-listen "" -media-port 0 -media-bind 127.0.0.1 \
  -sip-listen "127.0.0.1:$sport" -sip-media-ports 42000-43999 -sip-media-ip 127.0.0.1 -sip-invite-rate -1 \
  -session-timeout 10m -log-level warn 2>"$tmp/tessera.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
taskset -c "$others" "$tmp/sipload" -addr "127.0.0.1:$port" -sip "127.0.0.1:$sport" -pid "$server" \
  -n "$n" -window "$window" -rounds "$rounds" -video "$video" "$@" || { tail -20 "$tmp/tessera.log" >&2; exit 1; }
