// Package signaling is Tessera's front door: the HTTP router (chi) that
// serves the browser client and health checks, and the client-facing APIs
// that drive rooms. It speaks JSON and HTTP; it never touches media.
package signaling
