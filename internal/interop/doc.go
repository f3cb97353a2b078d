// Package interop tests package ws against a WebSocket implementation
// written elsewhere: the ws package for Node.js, at the exact version
// pinned in node/package-lock.json.
//
// # Peers
//
// node/server.js is a ws echo server that the Go client (ws.Dial) talks to;
// node/client.js is a ws client that the Go test drives over its stdin and
// stdout, against a Go server (ws.Accept behind an httptest server). Both
// scripts speak JSON lines on stdout and exit when their stdin ends, so no
// peer outlives its test. Each side hashes the messages it sends or
// receives into a transcript (type, length and payload of every message in
// order), so a test checks every byte in each direction without shipping
// payloads back.
//
// # Setup
//
// The tests run "npm ci" in node/ once per test binary when
// node_modules is missing or older than package.json or the lockfile. When
// node or npm is missing the tests skip, except under CI=true, where a
// missing peer is a failure.
//
// # Modes
//
// Every test runs once per peerMode, in both directions: the scripts take
// --per-message-deflate=off|on|JSON, ws's perMessageDeflate option, and
// the Go end sets Config.Compression and CompressionThreshold. The modes
// cover permessage-deflate (RFC 7692) off on either end, on with both
// ends' defaults, context takeover, ws asking that either end keep no
// context, ws narrowing either end's window (which our server declines,
// and which makes ws's server refuse our client), and every message
// compressed however small. Each connection checks what its handshake
// agreed on both ends, and the wire cases count the bytes that crossed
// it, to see that compressed connections really compress each way.
//
// The package holds only tests.
package interop
