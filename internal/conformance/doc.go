// Package conformance is an RFC 6455 and RFC 7692 (permessage-deflate)
// conformance suite for this module that needs no Docker: it covers the
// ground of Autobahn|Testsuite's sections 1–7, 9, 10, 12 and 13 and runs
// with every go test.
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
// Sections 12 and 13 negotiate permessage-deflate: the raw side offers or
// answers each parameter combination RFC 7692 §7.1 allows, and some it
// forbids, checks the other end's answer, compresses with compress/flate
// directly and inflates what comes back (keeping the dictionary where the
// library may keep context), and checks that RSV1 marks the first frame of
// compressed messages only. examples/echo runs once for each -compression
// mode.
//
// Run it with
//
//	go test -race ./internal/conformance/
//
// It prints a summary line such as "conformance: 1010 cases, 1010 passed,
// 0 failed", counting each case once per direction it runs in.
package conformance
