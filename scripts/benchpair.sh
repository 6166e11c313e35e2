#!/usr/bin/env bash
# Compares one Go benchmark between two checkouts by wall-clock time, for
# machines where instruction counting (scripts/benchinstr.sh) cannot run:
# both test binaries are built first, then run alternately, pinned to one
# core, ROUNDS times each, and the medians and minima are compared.
#
#   scripts/benchpair.sh BASE_TREE PACKAGE BENCHMARK [BENCHTIME] [ROUNDS]
#   scripts/benchpair.sh /tmp/base ./room/ 'VideoTick/9-inputs/h264-720p' 100x 12
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: $0 BASE_TREE PACKAGE BENCHMARK [BENCHTIME] [ROUNDS]" >&2; exit 2; }
base=$1 pkg=$2 bench=$3 benchtime=${4:-200x} rounds=${5:-10}
. scripts/env.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$base" && go test -c -o "$tmp/base.test" "$pkg")
go test -c -o "$tmp/now.test" "$pkg"
cpu=$(( $(nproc) - 1 ))
for _ in $(seq "$rounds"); do
  for v in base now; do
    (cd "$pkg" && taskset -c "$cpu" "$tmp/$v.test" -test.run '^$' -test.bench "$bench" \
      -test.benchtime "$benchtime" -test.cpu 1 2>/dev/null | sed -n "s/^\(Benchmark[^ \t]*\).*[ \t]\([0-9.]*\) ns\/op.*/$v \1 \2/p")
  done
done > "$tmp/runs"
awk '
  { t[$1 " " $2] = t[$1 " " $2] " " $3; names[$2] = 1 }
  function stats(list,   a, n, i, j, x) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
    med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    lo = a[1]
  }
  END {
    for (b in names) {
      stats(t["base " b]); mb = med; lb = lo
      stats(t["now " b]); mn = med; ln = lo
      printf "%s: median %.0f -> %.0f ns (%+.1f%%), min %.0f -> %.0f ns (%+.1f%%)\n", b, mb, mn, 100 * (mn - mb) / mb, lb, ln, 100 * (ln - lb) / lb
    }
  }' "$tmp/runs"
