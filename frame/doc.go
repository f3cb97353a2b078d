// Package frame implements the wire format of the WebSocket protocol,
// RFC 6455 §5: frame headers, masking, fragmentation and reassembly, close
// payloads and the UTF-8 rule for text. It knows nothing of handshakes or
// connections; package ws builds a connection on it.
//
// # Map to the RFC
//
//   - §5.2 base framing: [Header], [ParseHeader], [AppendHeader], [Opcode].
//   - §5.3 masking: [Mask], and a masking [Writer] for clients.
//   - §5.4 fragmentation: [MessageWriter] splits a message into frames,
//     [MessageReader] joins them and passes control frames through.
//   - §5.5 control frames: length and FIN rules in [ParseHeader]; close
//     payloads in [ParseClose] and [AppendClose] (§5.5.1, §7.4).
//   - §8.1 UTF-8: [UTF8] validates text as it streams, failing fast.
//
// # Errors
//
// A peer's violation of the protocol is a [*ProtocolError] whose Code is
// the close status to fail the connection with (§7.1.7): 1002 for framing,
// 1007 for bad UTF-8, 1009 for a message over the limit. A stream that ends
// between frames gives io.EOF; one that ends inside a frame gives
// io.ErrUnexpectedEOF. Decoding never panics on input and builds no error
// values while frames are valid.
//
// # Memory
//
// Payloads stream through the caller's buffers. A [MessageReader] holds at
// most one control payload (125 bytes) of its own and a [Writer] one buffer
// of the size it was given, whatever the size or fragment count of the
// messages that pass.
package frame
