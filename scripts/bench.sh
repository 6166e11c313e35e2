#!/usr/bin/env bash
# Runs Tessera's Go benchmarks on one core and prints a table of µs per
# operation (one operation = one video frame or one 20 ms audio frame unless
# the benchmark name says otherwise).
#
#   scripts/bench.sh                 codec benchmarks
#   scripts/bench.sh ./mixer/...     any package pattern
#   BENCHTIME=200x scripts/bench.sh  more iterations
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build >/dev/null
. scripts/env.sh
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./codec/...)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# -cpu 1 pins GOMAXPROCS to one core so numbers are single-core costs.
go test -run '^$' -bench . -benchmem -cpu 1 -benchtime "${BENCHTIME:-100x}" "${pkgs[@]}" | tee "$out" >&2
echo
printf '| %-58s | %12s | %10s | %9s |\n' benchmark "µs/op" "B/op" "allocs/op"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..60})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..11})"
awk '
  /^pkg: / { pkg = $2; sub(".*/tessera/", "", pkg) }
  /^Benchmark/ {
    name = $1; ns = ""; bop = ""; aop = ""
    for (i = 2; i <= NF; i++) {
      if ($i == "ns/op") ns = $(i-1)
      if ($i == "B/op") bop = $(i-1)
      if ($i == "allocs/op") aop = $(i-1)
    }
    if (ns != "") printf "| %-58s | %12.1f | %10s | %9s |\n", pkg "." name, ns / 1000, bop, aop
  }' "$out"
