#!/usr/bin/env bash
# Compares the composite's encoder settings (x264 as Tessera runs it,
# with and without its 1100-byte slices; libvpx VP8 at several cpu-used
# speeds) on two 1280x720 composites made with ffmpeg from the sources
# scripts/videoload.sh uses, laid out like Tessera's 3x3 grid: "moving"
# (nine grainy, moving cameras) and "still" (one moving camera, eight
# frozen pictures: a meeting where one person talks). Prints encode time
# per frame, bitrate and PSNR at 1.5 Mbps, pinned to the last core; then
# ffmpeg's libx264 (ultrafast, zerolatency, baseline, one thread) on the
# same clips for reference.
#
#   scripts/encoderbench.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
command -v ffmpeg >/dev/null || { echo "encoderbench: ffmpeg missing" >&2; exit 1; }
. scripts/env.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
last=$(( $(nproc) - 1 ))
sources=(
  "testsrc2=s=640x360:r=30"
  "mandelbrot=s=640x360:r=30"
  "life=s=320x180:r=30:mold=10:ratio=0.3:life_color=#c89060:death_color=#304050,scale=640:360:flags=bicubic"
  "cellauto=s=320x180:r=30:rule=110:random_fill_ratio=0.4,scale=640:360:flags=bicubic"
)
# Tessera's 3x3 grid on 1280x720: 424x236 tiles, 4 pixels apart.
layout="0_2|428_2|856_2|0_242|428_242|856_242|0_482|428_482|856_482"
composite() { # name, then "still" to freeze all but the first camera
  local args=() graph="" i
  for i in $(seq 0 8); do
    args+=(-f lavfi -i "${sources[$(( i % 4 ))]},format=yuv420p,gblur=sigma=1.2,hue=h=$(( i * 40 ))+20*t:s=1.2,noise=alls=20:allf=t+u")
    if [ "${2:-}" = still ] && [ "$i" -gt 0 ]; then
      graph+="[$i:v]loop=loop=-1:size=1:start=0,scale=424:236[t$i];"
    else
      graph+="[$i:v]scale=424:236[t$i];"
    fi
  done
  for i in $(seq 0 8); do graph+="[t$i]"; done
  graph+="xstack=inputs=9:layout=$layout:fill=0x1c1c20,pad=1280:720:0:0:0x1c1c20[out]"
  ffmpeg -hide_banner -loglevel error -nostdin "${args[@]}" -filter_complex "$graph" -map "[out]" \
    -t "$secs" -pix_fmt yuv420p -f rawvideo "$tmp/$1.yuv"
}
composite moving
composite still still
TESSERA_COMPOSITE_CLIPS="$tmp/*.yuv" taskset -c "$last" go test -run '^$' -bench CompositeEncoders \
  -benchtime "$(( secs * 30 * 2 ))x" ./codec/ | grep -E '^Benchmark' |
  sed 's/BenchmarkCompositeEncoders\///'
echo "ffmpeg libx264 ultrafast zerolatency baseline 1500k, one thread (the videoload reference's encoder):"
for clip in "$tmp"/*.yuv; do
  /usr/bin/time -f "%U %S" -o "$tmp/time" taskset -c "$last" ffmpeg -hide_banner -loglevel error -nostdin \
    -f rawvideo -pix_fmt yuv420p -s 1280x720 -r 30 -i "$clip" -c:v libx264 -preset ultrafast -tune zerolatency \
    -profile:v baseline -b:v 1500k -threads 1 -y "$tmp/ref.h264"
  frames=$(( $(stat -c %s "$clip") / (1280 * 720 * 3 / 2) ))
  psnr=$(ffmpeg -hide_banner -nostdin -f h264 -i "$tmp/ref.h264" -f rawvideo -pix_fmt yuv420p -s 1280x720 -r 30 -i "$clip" \
    -lavfi "[0:v]setpts=N/30/TB[a];[1:v]setpts=N/30/TB[b];[a][b]psnr" -f null - 2>&1 | sed -n 's/.*average:\([0-9.]*\).*/\1/p')
  awk -v c="$(basename "$clip")" -v f="$frames" -v b="$(stat -c %s "$tmp/ref.h264")" -v p="$psnr" '{
    printf "%s/ffmpeg-libx264  %.0f µs/frame  %.0f kbps  %s dB\n", c, ($1 + $2) * 1e6 / f, b * 8 * 30 / f / 1000, p }' "$tmp/time"
done
