// Package ws implements WebSocket connections (RFC 6455) for servers and
// clients, on the standard library alone.
//
// # Overview
//
// A server accepts a connection inside an http.Handler with [Accept]; a
// client opens one with [Dial]. Both return a [*Conn], which reads and
// writes whole messages:
//
//	c, err := ws.Accept(w, r, nil)
//	if err != nil {
//		return // Accept has already replied with the HTTP error
//	}
//	defer c.CloseNow()
//	for {
//		typ, msg, err := c.Read(ctx)
//		if err != nil {
//			return
//		}
//		if err := c.Write(ctx, typ, msg); err != nil {
//			return
//		}
//	}
//
// [NewConn] builds a Conn over any stream already past its handshake, such
// as an HTTP/2 extended CONNECT stream or a net.Pipe in tests. Package
// handshake holds the layer beneath Accept and Dial (RFC 6455 §4), and
// package frame the wire format (§5).
//
// # Messages
//
// [Conn.Read] returns a message whole; [Conn.Reader] streams one without
// allocating. [Conn.Write] sends a message as one frame; [Conn.Writer]
// sends one as fragments while it is being produced. A [PreparedMessage]
// is encoded once and written to many connections; a [Queue] sends
// without making the sender wait for a slow peer, bounded in bytes and
// messages, as a broadcast needs. [Conn.NetConn] adapts a
// Conn to a net.Conn for stream protocols. Text messages are checked for
// valid UTF-8 as they arrive (§8.1), and fail the connection with
// StatusInvalidPayload at the first bad byte.
//
// # Compression
//
// Accept and Dial negotiate permessage-deflate (RFC 7692) when the peer
// agrees, as browsers do. By default each message above
// [DefaultCompressionThreshold] bytes is compressed on its own, and an
// idle connection holds no compressor state; [Config.Compression] selects
// context takeover instead, which keeps a dictionary across messages at
// the cost of a compressor per connection, or turns compression off.
// [Conn.SetCompression] turns it off and on between messages, and
// [Conn.Compressed] reports whether the handshake agreed it. The read
// limit applies to the decompressed size.
//
// # Batching
//
// A peer that sends several messages without waiting for replies (a
// pipelining client) gets its replies in as few writes as possible: while
// more of its messages wait in the read buffer, a finished short message is
// held in the write buffer, and everything held leaves together when the
// reader runs out of input, with the next frame, at Close or CloseNow, or
// after at most a millisecond. A peer that waits for each reply is answered
// at once. Between messages a connection holds its read buffer and no
// write buffer.
//
// # Control frames
//
// Pings are answered with pongs carrying the same payload (§5.5.2); only
// the latest unanswered ping is kept, so a ping flood costs no memory.
// [Conn.Ping] sends a ping and waits for its pong. [Config.PingInterval]
// turns on keepalive, which closes a connection whose peer stops
// answering, and [Conn.RTT] reports the last round-trip time. Control
// frames are seen only while a goroutine reads: run a read loop for the
// life of the connection.
//
// # Concurrency
//
// Any number of goroutines may write at once: each message goes out whole,
// and control frames go out between the fragments of a long message. One
// goroutine at a time may read. [Conn.Close] and [Conn.CloseNow] may be
// called at any time from any goroutine. Every blocking method takes a
// context: cancelling a Read leaves the connection usable (the next Read
// resumes where it stopped); cancelling a Write that has put part of a
// frame on the wire closes the connection, since the peer could not make
// sense of what follows.
//
// # Closing
//
// [Conn.Close] performs the closing handshake (§7.1.2): it sends a close
// frame, waits up to [Config.CloseTimeout] for the peer's, and closes the
// transport. When the peer closes first, Read answers its close frame and
// returns a [*CloseError] with the peer's code and reason; [CloseStatus]
// extracts the code. A connection that ends without a close frame reports
// StatusAbnormalClosure (1006). A protocol violation by the peer fails the
// connection with the close code of §7.4.1 (1002, 1007 or 1009) and Read
// returns a *frame.ProtocolError.
//
// A server's http.Server.Shutdown does not see its WebSockets, which were
// hijacked: a [Group] tracks them, and its Shutdown closes them all with
// StatusGoingAway (1001), waiting for the closing handshakes up to a
// deadline. [Conn.Stats] counts messages and bytes each way, for metrics.
//
// # Limits
//
// [Config.ReadLimit] bounds an incoming message across all its fragments
// (16 MiB by default); a larger one fails with StatusMessageTooBig before
// its payload is read, or, if compressed, once its decompressed size
// passes the limit. Memory per connection does not grow with the number
// of fragments; [Config.MaxFragments] can also bound their count. The
// closing handshake and the client's opening handshake have timeouts.
// Every write, a pong included, is bounded by its context, so a peer that
// stops reading blocks a call no longer than the caller allows.
//
// # Origins
//
// Browsers let any page open a WebSocket to any host, with the user's
// cookies. [Accept] therefore refuses, with 403 Forbidden, a request whose
// Origin header names a host other than the one the request was sent to,
// unless [AcceptOptions.OriginPatterns] allows it. Requests without an
// Origin header, as non-browser clients send, are accepted.
package ws
