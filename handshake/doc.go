// Package handshake implements the opening handshake of RFC 6455 (§4): the
// HTTP/1.1 Upgrade exchange that turns a TCP (or TLS) connection into a
// WebSocket connection, on both the server and the client side. It stops
// where framing begins: the [Result] it returns carries the connection and
// a reader positioned at the first frame.
//
// Most programs use the ws package, whose Accept and Dial are built on
// [Upgrade] and [Dial]; use this package directly to inspect or customize
// the handshake itself.
//
// # Server
//
// [Upgrade] is the server's side (§4.2). It validates the request with
// [CheckRequest] (§4.2.1), applies an origin policy, by default
// [CheckOrigin] (§4.2.2 step 4 and §10.2), negotiates a subprotocol from
// [Subprotocols] (§4.2.2, /subprotocol/) and extensions through a hook
// (§9.1), hijacks the connection and writes the 101 Switching Protocols
// response with Sec-WebSocket-Accept computed by [AcceptKey] (§4.2.2 step
// 5). A refused request gets an HTTP error response, and the caller gets an
// [*Error] whose Status is the one sent: 400, 403, 405 or 426.
//
// # Client
//
// [Dial] is the client's side (§4.1): it connects, directly or through an
// HTTP CONNECT proxy (§4.1 step 3), performs TLS for wss:// (§4.1 step 5),
// sends the request with a fresh random Sec-WebSocket-Key, and validates
// the 101 response: Upgrade, Connection, Sec-WebSocket-Accept, and that
// the subprotocol and extensions are among those offered (§4.1, "the
// client MUST validate the server's response"). A response with another
// status is returned to the caller along with an [*Error].
//
// # Extensions
//
// [ParseExtensions] and [FormatExtensions] convert between
// Sec-WebSocket-Extensions headers and [Extension] values, following the
// grammar of §9.1. This package negotiates names and parameters only; what
// an extension does to frames is up to its implementation.
//
// # Limits
//
// Every check takes time linear in the size of the headers. On the server,
// the request's size is bounded by http.Server.MaxHeaderBytes. On the
// client, the response's header is bounded by DialOptions.MaxHeaderBytes
// ([DefaultMaxHeaderBytes]) and the whole handshake by DialOptions.Timeout
// ([DefaultTimeout]) as well as the context.
package handshake
