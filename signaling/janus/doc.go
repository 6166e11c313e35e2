// Package janus implements the Janus client API on top of Tessera's rooms,
// so that unmodified Janus clients (janus.js, janode, the mobile SDKs)
// work against Tessera.
//
// # Gateway
//
// The Gateway is the Janus core. It holds sessions and their handles and
// answers the core requests (create, attach, message, trickle, keepalive,
// claim, detach, hangup, destroy, info, ping) with Janus's reply shapes
// and error codes; idle sessions time out. Each handle runs its plugin's
// asynchronous requests in order on a goroutine of its own. Close ends
// every session, returns once every handle has detached (its plugin's
// Detach has run, its client was sent hangup and detached) and every
// goroutine the gateway, its plugins and its transports started has
// ended.
//
// # Transports
//
// Two transports feed the gateway: HTTP with long poll (HTTPHandler) and
// WebSocket with the janus-protocol subprotocol (WSHandler). A session's
// events go to the WebSocket that created or claimed it, and end with it;
// while no socket holds a session (HTTP), its events wait in a bounded
// queue for the next long poll, or for the socket that claims it.
//
// # Security and the admin API
//
// Options.APISecret makes every request carry "apisecret", and
// Options.TokenAuth a stored "token" (either one passes when both are
// on); tokens may be limited to some plugins. info and ping need neither.
// Refusals are Janus's: 403, and 405 for an attach the token does not
// allow. AdminHandler serves Janus's admin API (sessions, handles,
// tokens, session timeout, log level, message_plugin to the room
// plugins), every request checked against Options.AdminSecret.
//
// # Plugins
//
// Plugins give handles their meaning. Two are provided on a room manager:
// janus.plugin.audiobridge (NewAudioBridge) follows Janus's AudioBridge
// request and event shapes, error codes and semantics; janus.plugin.mcu
// (NewVideoMCU) has the same shapes under the key "mcu", and its
// participants send and receive video: one composite picture each, with
// layout, tile, tier and recording controls. Both use the same rooms, so
// AudioBridge and video participants of one room hear each other.
//
// A minimal server:
//
//	gw := janus.NewGateway(janus.Options{})
//	ab := janus.NewAudioBridge(rooms, logger)
//	gw.Register(ab)
//	gw.Register(janus.NewVideoMCU(rooms, logger, ab))
//	http.Handle("/janus", gw.HTTPHandler("/janus"))
//	http.Handle("/janus/", gw.HTTPHandler("/janus"))
//	http.Handle("/ws", gw.WSHandler())
//	defer gw.Close()
package janus
