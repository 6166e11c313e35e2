#!/usr/bin/env bash
# Measures Tessera's live outputs with real peers: builds the server, pins
# it to the last core, starts it on loopback with room 1234 and runs
# scripts/streambench (peers, a local nginx-rtmp, ffmpeg as the player)
# on the other cores. Needs nginx, libnginx-mod-rtmp and ffmpeg.
#
#   scripts/streambench.sh cpu   [WINDOW] [ROUNDS]   extra CPU of one RTMP push and one HLS viewer
#   scripts/streambench.sh delay [WINDOW] [ROUNDS]   camera-to-player delay through RTMP and HLS
#   scripts/streambench.sh cpu 10s 3
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-cpu} window=${2:-10s} rounds=${3:-3}
case "$mode" in cpu) ;; delay) ;; *) echo "usage: $0 cpu|delay [WINDOW] [ROUNDS]" >&2; exit 2 ;; esac
for cmd in nginx ffmpeg taskset curl python3; do
  command -v "$cmd" >/dev/null || { echo "streambench: $cmd missing (scripts/deps.sh test installs it)" >&2; exit 1; }
done
. scripts/env.sh
tmp=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/tessera" ./cmd/tessera
go build -o "$tmp/streambench" ./scripts/streambench
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
last=$(( $(nproc) - 1 ))
others=0-$(( last > 0 ? last - 1 : 0 ))
taskset -c "$last" "$tmp/tessera" -listen "127.0.0.1:$port" -ws-listen "" -media-port 0 -media-bind 127.0.0.1 \
  -session-timeout 10m -hls-idle 2s -log-level warn -metrics-listen "127.0.0.1:$mport" 2>"$tmp/tessera.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
args=(-addr "127.0.0.1:$port" -window "$window" -rounds "$rounds" -hls-idle 2s)
if [ "$mode" = cpu ]; then
  taskset -c "$others" "$tmp/streambench" "${args[@]}" -pid "$server" -metrics "127.0.0.1:$mport"
else
  taskset -c "$others" "$tmp/streambench" "${args[@]}" -delay
fi
