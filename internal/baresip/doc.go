// Package baresip runs Debian's baresip softphone for end-to-end tests of
// Tessera's SIP side: one user agent on loopback whose microphone is a
// sine tone (the ausine module), that answers calls by itself if asked,
// records what it hears to a WAV file (the sndfile module), and takes
// commands (dial, hang up) and reports call events over its TCP control
// socket (ctrl_tcp: JSON in netstrings). Each UA gets its own
// configuration directory and ports; Close stops the process.
package baresip
