// Package redis is the small Redis client that cmd/chat needs to share a
// room between processes: RESP2 commands over a pool of connections,
// Lua scripts, and a pub/sub subscription that reconnects by itself.
//
// It speaks RESP2 only, so it works with any Redis from 5.0 on (streams
// arrived in 5.0) and needs no HELLO. TLS (rediss://) is not supported.
//
// # Connections
//
// A [Client] dials lazily and keeps a few idle connections. Each command
// is bounded by [Options].Timeout as well as by its context; a
// connection that fails or times out is closed, never reused. Before an
// idle connection is reused it is checked for a close from the server,
// so the first command after a server restart does not fail on a dead
// connection. While dialling fails, the client waits a growing backoff
// before it dials again, and commands meanwhile fail at once with an
// error wrapping [ErrUnavailable].
//
// # Pub/sub
//
// A [PubSub] holds one connection of its own. When that connection is
// lost, Receive returns the error, and the next Receive reconnects
// after a backoff and subscribes again. Every subscription, the first
// and each after a reconnect, begins with a "subscribe" [Event]:
// whatever was published while there was none is gone, so that is when
// the caller catches up from durable state.
package redis
