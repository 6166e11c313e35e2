// Package nginxrtmp runs Debian's nginx with its RTMP module
// (libnginx-mod-rtmp) as a real RTMP ingest for tests and benchmarks.
//
// Start writes a configuration into a directory of the caller's, starts
// one nginx process (no daemon, no master) listening on a loopback port,
// and waits until it accepts connections. Its application "live" takes
// publishers at rtmp://127.0.0.1:PORT/live/KEY, serves the stream to
// players at the same URL ("live on"), and records every stream it is
// sent as DIR/rec/KEY.flv ("record all"). Kill ends it at once, as a
// crashing ingest goes; Restart starts a new one on the same port.
package nginxrtmp
