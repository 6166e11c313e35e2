#!/usr/bin/env bash
# Measures a video room the way it runs, against ffmpeg doing the same
# work: generates N grainy, moving 640x360 30 fps H.264 baseline clips
# (~800 kbps, 10 s) once with ffmpeg, builds the server, pins it to the
# last core, starts it on loopback with room 1234, and runs
# scripts/videoload on the other cores: N cameras sending the clips in a
# loop and one viewer decoding the composite, then the ffmpeg reference
# (decode N, tile with xstack, libx264 in one thread) on the server's core.
# Prints the server's and ffmpeg's CPU per output frame and their ratio,
# and the codec floor (ffmpeg decoding the clips alone, plus its encoding
# of the composite) with the server's ratio to it.
# Further arguments go to videoload (-settle 5s, -send-only...).
# CODEC=vp8 makes VP8 clips (IVF, libvpx) and a VP8 composite, against
# ffmpeg with libvpx at Tessera's settings. SIMULCAST=1 makes each camera send three simulcast layers (the clip at
# 640x360, 320x180 and 160x90, like a browser's) from a send-only
# publisher, with a viewer of its own in its place; the ffmpeg reference
# still decodes the full clips. SERVER=PATH runs that tessera binary instead of building this tree (to
# compare two builds with the same runner). PROFILE=FILE also takes a CPU profile of the server over the window
# (the server's -pprof) and prints where its time went. SERVER_FLAGS adds
# flags to the server's command line (e.g. -media-unbatched).
#
#   scripts/videoload.sh [N] [WINDOW] [videoload flags...]
#   scripts/videoload.sh 9 10s
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-9} window=${2:-10s}
shift $(( $# < 2 ? $# : 2 ))
for cmd in taskset curl python3 ffmpeg; do
  command -v "$cmd" >/dev/null || { echo "videoload: $cmd missing" >&2; exit 1; }
done
. scripts/env.sh
tmp=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
last=$(( $(nproc) - 1 ))
others=0-$(( last > 0 ? last - 1 : 0 ))
if [ -n "${SERVER_CORES:-}" ]; then
  last=$SERVER_CORES others=0-$(( $(nproc) - 1 ))
fi

# Clips: different synthetic scenes, softened like a lens, with moving
# colour, and temporal grain like a camera sensor's.
sources=(
  "testsrc2=s=640x360:r=30"
  "mandelbrot=s=640x360:r=30"
  "life=s=320x180:r=30:mold=10:ratio=0.3:life_color=#c89060:death_color=#304050,scale=640:360:flags=bicubic"
  "cellauto=s=320x180:r=30:rule=110:random_fill_ratio=0.4,scale=640:360:flags=bicubic"
)
clips=()
for i in $(seq 0 $(( n - 1 ))); do
  src=${sources[$(( i % ${#sources[@]} ))]}
  scene="$src,format=yuv420p,gblur=sigma=1.2,hue=h=$(( i * 40 ))+20*t:s=1.2,noise=alls=20:allf=t+u"
  if [ "${CODEC:-h264}" = vp8 ]; then
    out="$tmp/clip$i.ivf"
    taskset -c "$others" ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i "$scene" \
      -t 10 -an -c:v libvpx -deadline realtime -cpu-used 4 -b:v 800k -minrate 800k -maxrate 800k \
      -g 60 -lag-in-frames 0 -f ivf "$out"
  else
    out="$tmp/clip$i.h264"
    taskset -c "$others" ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i "$scene" \
      -t 10 -an -c:v libx264 -preset veryfast -profile:v baseline -level 3.1 -pix_fmt yuv420p \
      -b:v 800k -maxrate 800k -bufsize 800k -g 60 -bf 0 -x264-params repeat-headers=1 -f h264 "$out"
  fi
  clips+=("$out")
  if [ -n "${SIMULCAST:-}" ]; then
    for l in h:320:180:300k q:160:90:100k; do
      IFS=: read -r rid lw lh rate <<<"$l"
      taskset -c "$others" ffmpeg -hide_banner -loglevel error -nostdin -f h264 -i "$out" -vf "scale=$lw:$lh" \
        -an -c:v libx264 -preset veryfast -profile:v baseline -pix_fmt yuv420p -b:v "$rate" -maxrate "$rate" -bufsize "$rate" \
        -g 60 -bf 0 -x264-params repeat-headers=1 -f h264 "$tmp/clip$i.$rid.h264"
    done
  fi
done
clipList=$(IFS=,; echo "${clips[*]}")
for c in "${clips[@]}"; do
  echo "clip $(basename "$c"): $(( $(stat -c %s "$c") * 8 / 10 / 1000 )) kbps" >&2
done

if [ -n "${SERVER:-}" ]; then cp "$SERVER" "$tmp/tessera"; else go build -o "$tmp/tessera" ./cmd/tessera; fi
go build -o "$tmp/videoload" ./scripts/videoload
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(freeport) mport=$(freeport)
taskset -c "$last" "$tmp/tessera" -listen "127.0.0.1:$port" -ws-listen "" -media-port 0 -media-bind 127.0.0.1 \
  -sip-listen "" -session-timeout 10m -log-level warn -admin-key videoload ${PROFILE:+-metrics-listen "127.0.0.1:$mport" -pprof} \
  ${SERVER_FLAGS:-} 2>"$tmp/tessera.log" &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
prof=()
[ -n "${PROFILE:-}" ] && prof=(-pprof "127.0.0.1:$mport" -profile "$PROFILE")
taskset -c "$others" "$tmp/videoload" -addr "127.0.0.1:$port" -pid "$server" -core "$last" -admin-key videoload \
  -clips "$clipList" -n "$n" -window "$window" ${SIMULCAST:+-simulcast} -codec "${CODEC:-h264}" "${prof[@]}" "$@" || { tail -20 "$tmp/tessera.log" >&2; exit 1; }
if [ -n "${PROFILE:-}" ]; then
  echo "server CPU profile ($PROFILE), by package and by function:"
  go tool pprof -top -nodecount=25 "$tmp/tessera" "$PROFILE" 2>/dev/null | sed -n '1,35p'
fi
