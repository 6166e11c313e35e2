# Build: Debian 12 with the codec development packages and Go.
FROM debian:12 AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN scripts/deps.sh build && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/local/go/bin:$PATH
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -tags nolibopusfile -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/tessera ./cmd/tessera

# Run: Debian 12 slim with only the shared libraries the binary links.
FROM debian:12-slim
COPY scripts/deps.sh /usr/local/lib/tessera/deps.sh
RUN /usr/local/lib/tessera/deps.sh runtime && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/tessera --create-home --shell /usr/sbin/nologin tessera
COPY --from=build /out/tessera /usr/local/bin/tessera
USER tessera
# Recordings go to /var/lib/tessera/recordings (mount a volume there).
WORKDIR /var/lib/tessera
# HTTP + Janus WebSocket signalling, Janus's WebSocket port, and the one
# media port (UDP, and ICE-TCP on the same number).
EXPOSE 8088/tcp 8188/tcp 8189/udp 8189/tcp
ENTRYPOINT ["/usr/local/bin/tessera"]
