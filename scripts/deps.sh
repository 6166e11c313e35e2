#!/usr/bin/env bash
# Installs what Tessera needs on Debian 12 and nothing that is already there.
# This file is the single source of truth for the package lists: the setup,
# test and run scripts and the Dockerfile all call it.
#
#   scripts/deps.sh build     C libraries and tools to build the server
#   scripts/deps.sh test      build + what the test suite uses
#   scripts/deps.sh runtime   shared libraries the built binary links against
#   scripts/deps.sh bench     build + what the benchmark runners use
#   scripts/deps.sh go        a Go toolchain at least as new as go.mod asks
#   scripts/deps.sh list KIND print a list without installing
set -euo pipefail

GO_VERSION=1.26.8

BUILD_PKGS=(gcc libc6-dev make pkg-config git ca-certificates
  libopus-dev libvpx-dev libx264-dev libyuv-dev libavcodec-dev libavutil-dev)
TEST_PKGS=(ffmpeg chromium prometheus nginx libnginx-mod-rtmp
  # SIPp, the SIP user agent's scenario tests (signaling/sip)
  sip-tester
  # scripts/e2e/whip-gst.py, the GStreamer WHIP publisher (webrtcbin from Python)
  python3-gi gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1 gstreamer1.0-nice
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  # SIP peers: internal/baresip runs the baresip softphone (avcodec
  # module for H.264 from baresip-ffmpeg)
  baresip-core baresip-ffmpeg
  # the cluster's store (internal/redistest starts a private server per test)
  redis-server)
BENCH_PKGS=(valgrind)
# Commands the test suite needs, with the Debian package that provides
# each; installed only when the command is missing (a machine may already
# have Node.js from elsewhere).
TEST_CMDS=(node:nodejs npm:npm g++:g++ make:make python3:python3 curl:curl)
RUNTIME_PKGS=(ca-certificates libopus0 libvpx7 libx264-164 libyuv0 libavcodec59 libavutil57)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "deps: installing ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# go_ok tells whether the go on PATH is at least GO_VERSION.
go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local have
  have=$(go env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ "$(printf '%s\n%s\n' "$GO_VERSION" "$have" | sort -V | head -n1)" = "$GO_VERSION" ]
}

# ensure_go installs Go GO_VERSION into /usr/local/go when the machine has no
# Go or an older one. Debian 12 ships Go 1.19, which is enough to fetch the
# official toolchain through the Go module proxy as the module
# golang.org/toolchain; that module is the same tree the go.dev archive has.
ensure_go() {
  export PATH=/usr/local/go/bin:$PATH
  go_ok && return 0
  echo "deps: installing Go $GO_VERSION" >&2
  command -v go >/dev/null 2>&1 || apt_install golang-go ca-certificates
  local tmp dir
  tmp=$(mktemp -d)
  dir=$(cd "$tmp" && GOPATH="$tmp/gopath" GOFLAGS=-modcacherw GO111MODULE=on \
    go mod download -json "golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-$(dpkg --print-architecture)" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { echo "deps: could not fetch Go $GO_VERSION" >&2; exit 1; }
  sudo_if_needed rm -rf /usr/local/go
  sudo_if_needed cp -r "$dir" /usr/local/go
  sudo_if_needed chmod -R a+rX,u+w /usr/local/go
  sudo_if_needed chmod a+x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/*
  rm -rf "$tmp"
  go_ok || { echo "deps: Go $GO_VERSION install failed" >&2; exit 1; }
}

# ensure_cmds installs the package of every listed command that is missing.
ensure_cmds() {
  local need=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
  done
  [ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
}

# ensure_npm installs the end-to-end test clients from the lockfile.
ensure_npm() {
  local dir
  dir="$(cd "$(dirname "$0")" && pwd)/e2e"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "deps: installing npm packages in scripts/e2e" >&2
    # Install scripts stay off, except for janode's native unix-dgram, which
    # janode imports unconditionally (node-gyp builds it against the local
    # Node.js headers; nothing is downloaded).
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null &&
      npm rebuild unix-dgram --loglevel=error >/dev/null)
  fi
}

case "${1:-}" in
  build)   apt_install "${BUILD_PKGS[@]}"; ensure_go ;;
  test)    apt_install "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"; ensure_cmds "${TEST_CMDS[@]}"; ensure_go; ensure_npm ;;
  runtime) apt_install "${RUNTIME_PKGS[@]}" ;;
  bench)   apt_install "${BUILD_PKGS[@]}" "${BENCH_PKGS[@]}"; ensure_go ;;
  go)      ensure_go ;;
  list)
    case "${2:-}" in
      build) echo "${BUILD_PKGS[*]}" ;; test) echo "${TEST_PKGS[*]}" ;;
      runtime) echo "${RUNTIME_PKGS[*]}" ;; *) echo "usage: $0 list build|test|runtime" >&2; exit 2 ;;
    esac ;;
  *) echo "usage: $0 build|test|runtime|bench|go|list KIND" >&2; exit 2 ;;
esac
