// Package janus implements the Janus client API on top of Tessera's rooms,
// so that unmodified Janus clients (janus.js, janode, the mobile SDKs)
// work against Tessera.
//
// The Gateway holds sessions and handles and answers the core requests
// (create, attach, message, trickle, keepalive, claim, detach, hangup,
// destroy, info, ping) with Janus's reply shapes and error codes. Two
// transports feed it: HTTP with long-poll (HTTPHandler) and WebSocket with
// the janus-protocol subprotocol (WSHandler). Plugins give handles their
// meaning; AudioBridge provides janus.plugin.audiobridge on a
// room.Manager.
//
// A minimal server:
//
//	gw := janus.NewGateway(janus.Options{})
//	gw.Register(janus.NewAudioBridge(rooms, logger))
//	http.Handle("/janus", gw.HTTPHandler("/janus"))
//	http.Handle("/janus/", gw.HTTPHandler("/janus"))
package janus
