// Package rawws is a WebSocket client written by hand for tests that
// must send what a well-behaved client never would: any handshake
// request, frames with any bits, opcodes and lengths, half frames. It
// checks what the server answers as RFC 6455 requires, independently of
// packages handshake and ws, and uses package frame only to encode and
// decode headers. It is for tests only.
package rawws
