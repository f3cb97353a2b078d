// Package interop tests package ws against a WebSocket implementation
// written elsewhere: the ws package for Node.js, at the exact version
// pinned in node/package-lock.json.
//
// # Peers
//
// node/server.js is a ws echo server that the Go client (ws.Dial) talks to;
// node/client.js is a ws client that the Go test drives over its stdin and
// stdout, against a Go server (ws.Accept behind httptest.NewServer). Both
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
// Every test runs once per peerMode. There is one mode today, with
// permessage-deflate off on both ends; the scripts already take a
// --per-message-deflate=on|off flag so that a compressed mode can be added
// once package ws negotiates the extension.
//
// The package holds only tests.
package interop
