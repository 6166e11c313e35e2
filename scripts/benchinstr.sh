#!/usr/bin/env bash
# Counts the CPU instructions one operation of a Go benchmark costs, with
# valgrind's callgrind: unlike time, the count does not depend on what else
# the machine is doing, so two builds compare exactly even on a shared,
# noisy machine. The benchmark runs twice, N and 3N times; the difference
# over 2N is the cost of one operation (set-up cancels out).
#
#   scripts/benchinstr.sh PACKAGE BENCHMARK [N]
#   scripts/benchinstr.sh ./room/ 'AudioTick/N=10/' 50
#
# TREE=/path/to/another/checkout measures that tree's code instead (to
# compare a change against its base in one run).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 PACKAGE BENCHMARK [N]" >&2; exit 2; }
pkg=$1 bench=$2 n=${3:-50}
scripts/deps.sh bench >/dev/null
. scripts/env.sh
tree=${TREE:-$PWD}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tree" && go test -c -o "$tmp/bench.test" "$pkg")
# Go's preemption signals trip callgrind's signal handling now and then.
export GODEBUG=asyncpreemptoff=1
count() {
  (cd "$tree/$pkg" && valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$tmp/bench.test" \
    -test.run "^\$" -test.bench "$bench" -test.benchtime "${1}x" -test.cpu 1 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
}
a=$(count "$n")
b=$(count $((3 * n)))
[ -n "$a" ] && [ -n "$b" ] || { echo "benchinstr: valgrind failed (run it by hand to see why)" >&2; exit 1; }
echo "$bench: $(( (b - a) / (2 * n) )) instructions per op ($tree)"
