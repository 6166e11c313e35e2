#!/usr/bin/env bash
# Measures a three-node Tessera cluster on this machine: builds the
# server, starts a private redis-server on loopback (no persistence) and
# three nodes (a, b, c) sharing it, each with its own HTTP and media
# port, all pinned to the last core; then runs scripts/clusterbench on
# the other cores: join latency through the room's host against through
# another node (relayed), the bus messages each join costs, and
# placement under the audio load (rooms created through node a, their
# participants' sessions spread over the three nodes). Further arguments
# go to clusterbench (-talkers 3, -window 20s...). NODE_CPUS sets the
# cores of the nodes (a taskset list, default the last core; the runner
# keeps the others).
#
#   scripts/clusterbench.sh [JOINS] [ROOMS] [PER] [WINDOW] [clusterbench flags...]
#   scripts/clusterbench.sh 50 6 10 10s
set -euo pipefail
cd "$(dirname "$0")/.."
joins=${1:-50} rooms=${2:-6} per=${3:-10} window=${4:-10s}
shift $(( $# < 4 ? $# : 4 ))
for cmd in taskset curl python3 redis-server; do
  command -v "$cmd" >/dev/null || { echo "clusterbench: $cmd missing" >&2; exit 1; }
done
. scripts/env.sh
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/tessera" ./cmd/tessera
go build -o "$tmp/clusterbench" ./scripts/clusterbench
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
last=$(( $(nproc) - 1 ))
others=0-$(( last > 0 ? last - 1 : 0 ))
nodecpus=${NODE_CPUS:-$last}
rport=$(freeport)
taskset -c "$others" redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
  --logfile "$tmp/redis.log" &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
nodes=() nodepids=()
for id in a b c; do
  port=$(freeport)
  taskset -c "$nodecpus" "$tmp/tessera" -listen "127.0.0.1:$port" -ws-listen "" -media-port 0 -media-bind 127.0.0.1 \
    -cluster-redis "127.0.0.1:$rport" -cluster-node "$id" -demo-room=false -sip-listen "" \
    -session-timeout 10m -log-level warn 2>"$tmp/tessera-$id.log" &
  pids+=($!) nodepids+=($!) nodes+=("$id=127.0.0.1:$port")
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "node $id did not start:" >&2; cat "$tmp/tessera-$id.log" >&2; exit 1; }
done
list=$(IFS=,; echo "${nodes[*]}") plist=$(IFS=,; echo "${nodepids[*]}")
echo "redis 127.0.0.1:$rport; nodes $list (pids $plist) on cores $nodecpus; runner on $others" >&2
taskset -c "$others" "$tmp/clusterbench" -nodes "$list" -pids "$plist" -redis "127.0.0.1:$rport" \
  -joins "$joins" -rooms "$rooms" -per "$per" -window "$window" "$@" ||
  { for id in a b c; do echo "== node $id" >&2; tail -20 "$tmp/tessera-$id.log" >&2; done; exit 1; }
