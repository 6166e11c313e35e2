#!/usr/bin/env bash
# Compares Tessera's answers to Janus's, request by request: installs
# Debian's janus (1.1.2, the reference) if missing, starts it and Tessera on
# loopback, sends both the same well-formed and broken requests and prints
# the table (scripts/januscompare). Janus uses its default ports (8088,
# 8188), Tessera 9088 and 9188: nothing else may listen there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build >/dev/null
dpkg-query -W -f='${Status}' janus 2>/dev/null | grep -q "install ok installed" || {
  echo "januscompare: installing janus" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq --no-install-recommends janus >/dev/null
  else sudo apt-get install -y -qq --no-install-recommends janus >/dev/null; fi
}
. scripts/env.sh
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
janus -F /etc/janus -L "$tmp/janus.log" >/dev/null 2>&1 &
go build -o "$tmp/tessera" ./cmd/tessera
"$tmp/tessera" -listen 127.0.0.1:9088 -ws-listen 127.0.0.1:9188 -media-port 0 -media-bind 127.0.0.1 \
  -record-dir "$tmp/recordings" -log-level warn 2>"$tmp/tessera.log" &
for url in http://127.0.0.1:8088/janus/info http://127.0.0.1:9088/healthz; do
  for _ in $(seq 50); do curl -sf "$url" >/dev/null && break; sleep 0.2; done
done
go run ./scripts/januscompare -a http://127.0.0.1:8088/janus -b http://127.0.0.1:9088/janus
