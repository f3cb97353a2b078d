// Package conformance is an RFC 6455 conformance suite for this module
// that needs no Docker: it covers the ground of Autobahn|Testsuite's
// sections 1–7, 9 and 10 and runs with every go test.
//
// It drives raw bytes at both ends of the library. Against the server, a
// raw client (hand-written handshake, frames built with package frame and
// masked as a client must) talks to examples/echo, built and started by
// the test. Against the client, a raw server (hand-written 101 response)
// talks to ws.Dial running the echo loop of the Autobahn client
// (autobahn.Echo). Each case in the table says what the raw side sends and
// the exact outcome the RFC requires: the messages and pongs that come
// back, the code of the close frame that ends the connection, and that the
// TCP connection then ends. Every frame the library sends is checked as
// well: masking, reserved bits, fragmentation rules, UTF-8 of text, close
// payloads, nothing after a close frame.
//
// Run it with
//
//	go test -race ./internal/conformance/
//
// It prints a summary line such as "conformance: 723 cases, 723 passed,
// 0 failed", counting each case once per direction it runs in.
package conformance
