// Package ffcheck reads media, files or live URLs (an RTMP stream, an HLS
// playlist), with Debian's ffprobe and ffmpeg the way a player would, for
// tests and benchmarks: the streams and duration ffprobe finds, what
// ffmpeg complains of while decoding, the decoded audio as 48 kHz mono
// PCM, and decoded pictures.
package ffcheck
