# Sourced by the scripts: the Go environment every build and test uses.
export PATH=/usr/local/go/bin:$PATH
# hraban/opus builds without libopusfile with this tag; only libopus is needed.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-tags=nolibopusfile"
