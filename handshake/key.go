package handshake

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
)

// guid is the fixed suffix of RFC 6455 §1.3 and §4.2.2 that the server
// appends to the client's key before hashing, so that only a server that
// understands WebSocket can produce the right Sec-WebSocket-Accept.
const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for the client's
// Sec-WebSocket-Key: base64(SHA-1(key + GUID)) as in RFC 6455 §4.2.2 step
// 5.4. The key is used as sent, not base64-decoded.
//
// For keys of ordinary length the only allocation is the returned string.
func AcceptKey(key string) string {
	// Hash from a stack buffer: a valid key is 24 bytes, so key+GUID fits
	// and sha1.Sum needs no heap; longer keys still work via append.
	var buf [96]byte
	sum := sha1.Sum(append(append(buf[:0], key...), guid...))
	var out [28]byte // base64 of 20 bytes
	base64.StdEncoding.Encode(out[:], sum[:])
	return string(out[:])
}

// newKey returns a fresh Sec-WebSocket-Key: RFC 6455 §4.1 step 7 asks for
// 16 random bytes, base64-encoded, chosen anew for each connection.
func newKey() string {
	var b [16]byte
	rand.Read(b[:]) // never fails since Go 1.24: it crashes the program instead
	return base64.StdEncoding.EncodeToString(b[:])
}
