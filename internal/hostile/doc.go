// Package hostile attacks the module's servers from outside, as a hostile
// peer would: every framing violation of RFC 6455 §5, resource attacks
// (huge length claims, endless fragments, ping floods, peers that never
// read), handshake attacks (slowloris, oversize and malformed headers,
// pathological extension and subprotocol offers) and connections reset
// mid-frame. It builds examples/echo, cmd/chat, examples/push and
// examples/auth, runs them as subprocesses on loopback, and talks to them
// with a client written by hand (package internal/rawws).
//
// Each case asserts the answer RFC 6455 requires (the close code the
// server sends, the HTTP status of a refused handshake, or that the TCP
// connection ends within a deadline) and then that a well-behaved client
// is still served. Cases that measure memory get a server process of their
// own and sample its resident set size from /proc. Every server is
// stopped at the end and must exit cleanly; under -race the servers are
// built with the race detector too and must report no race.
//
// Run it with
//
//	go test -race ./internal/hostile/
//
// It prints a summary line such as "hostile: 150 cases, 150 passed,
// 0 failed".
package hostile
