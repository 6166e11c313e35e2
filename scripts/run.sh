#!/usr/bin/env bash
# Installs what is missing, builds Tessera and runs it with the embedded
# defaults (HTTP on :8088). Extra arguments go to the server, e.g.
#   scripts/run.sh -listen 127.0.0.1:9000 -log-format json
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
. scripts/env.sh
mkdir -p bin
go build -o bin/tessera ./cmd/tessera
exec bin/tessera "$@"
