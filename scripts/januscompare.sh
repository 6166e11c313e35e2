#!/usr/bin/env bash
# Compares Tessera's answers to Janus's, request by request: installs
# Debian's janus (1.1.2, the reference) if missing, starts it and Tessera on
# loopback with the same API secret, stored-token authentication and admin
# secret, sends both the same well-formed and broken requests, the secret
# and token cases and the admin API's, and prints the table
# (scripts/januscompare). Janus uses its default ports (8088, 8188, admin
# 7088), Tessera 9088, 9188 and admin 9077: nothing else may listen there.
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
apisecret=januscompare-api adminsecret=januscompare-admin
# Janus's own configuration, with the secrets, token auth and the admin API
# over HTTP turned on.
cp -r /etc/janus "$tmp/janus"
sed -i -e "s|configs_folder = \"/etc/janus\"|configs_folder = \"$tmp/janus\"|" \
  -e "s|#api_secret = \"janusrocks\"|api_secret = \"$apisecret\"|" \
  -e "s|#token_auth = true|token_auth = true|" \
  -e "s|admin_secret = \"janusoverlord\"|admin_secret = \"$adminsecret\"|" "$tmp/janus/janus.jcfg"
sed -i -e "s|admin_http = false|admin_http = true|" "$tmp/janus/janus.transport.http.jcfg"
janus -F "$tmp/janus" -L "$tmp/janus.log" >/dev/null 2>&1 &
go build -o "$tmp/tessera" ./cmd/tessera
"$tmp/tessera" -listen 127.0.0.1:9088 -ws-listen 127.0.0.1:9188 -media-port 0 -media-bind 127.0.0.1 \
  -record-dir "$tmp/recordings" -log-level warn -api-secret "$apisecret" -token-auth \
  -janus-admin-listen 127.0.0.1:9077 -janus-admin-secret "$adminsecret" 2>"$tmp/tessera.log" &
for url in http://127.0.0.1:8088/janus/info http://127.0.0.1:9088/healthz; do
  for _ in $(seq 50); do curl -sf "$url" >/dev/null && break; sleep 0.2; done
done
go run ./scripts/januscompare -a http://127.0.0.1:8088/janus -b http://127.0.0.1:9088/janus \
  -admin-a http://127.0.0.1:7088/admin -admin-b http://127.0.0.1:9077/admin \
  -apisecret "$apisecret" -admin-secret "$adminsecret"
