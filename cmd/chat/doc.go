// Chat serves a broadcast chat room: a web page at / and a WebSocket at
// /ws, built on package ws alone.
//
//	go run ./cmd/chat
//
// prints "chat: serving http://localhost:30000"; open that address in two
// browser tabs and talk. With -addr 127.0.0.1:0 it picks a free port and
// prints the real address.
//
// # Flags
//
//	-addr          address to listen on (":30000")
//	-origin        extra allowed page origins, comma-separated host patterns
//	               such as "*.example.com,localhost:*"; the page's own host
//	               is always allowed
//	-history       messages a newcomer receives from the recent past (100)
//	-max-message   longest message in bytes of text (4096)
//	-rate, -burst  commands a second per client in the long run (2), and
//	               at once (5); -rate 0 turns the limit off
//	-queue         messages a client may fall behind before it is closed as
//	               too slow (128)
//	-queue-bytes   bytes of messages it may fall behind, likewise (1 MiB)
//	-max-clients   most clients at once (1000; 0 means no limit)
//	-ping          keepalive ping interval (25s)
//	-write-timeout longest one message may take to reach a client (10s)
//	-redis         share the room with other chat processes through Redis:
//	               redis://[:password@]host[:port][/db] or
//	               unix:///path/to/socket?db=N&password=...; without it the
//	               room lives in this process
//	-v             debug logging
//
// It logs connects, disconnects (with the close code and reason) and
// errors to stderr with log/slog. SIGINT or SIGTERM closes every client
// with 1001 (going away) and exits.
//
// # Protocol
//
// Every WebSocket message is a JSON object with a "type". The room gives
// each message it accepts a sequence number, "seq", and sends it to every
// client in the same order: these are the sequenced types. The others go
// to one client only and have no "seq". Times are RFC 3339 in UTC.
//
// From the server:
//
//	type       fields                               meaning
//	welcome    id, name, epoch, last,               sent first: who you are, who is
//	           users[{id,name}],                    online as of seq "last" of
//	           max_message, rate, burst             "epoch", the limits
//	missed     after, first, text                   the room no longer holds messages
//	                                                after "after" before "first"
//	restarted  after, text                          a reset: "since" is from a log the
//	                                                room lost (another epoch, or ahead
//	                                                of it); replace what you show with
//	                                                the history that follows
//	error      code, text, ref?, retry_ms?          your command was refused (below)
//	message    seq, time, id, name, text            a chat message from id
//	join       seq, time, id, name                  id entered the room
//	leave      seq, time, id, name, reason          id left: "left", "too slow",
//	                                                "connection lost", "disconnected"
//	rename     seq, time, id, name, old             id is now called name
//
// From a client:
//
//	type     fields        meaning
//	send     text, ref?    say text (at most -max-message bytes, trimmed)
//	rename   name, ref?    change your display name (1 to 32 characters)
//
// An optional "ref" is echoed in the error reply to that command. Error
// codes are bad_request (not a JSON command), empty, too_long,
// rate_limited (with retry_ms), bad_name and unavailable.
//
// After the welcome (and any notice) come the messages with seq up to
// "last": the latest -history of them for a newcomer. A page that
// reconnects with /ws?since=N&epoch=E (the last seq it saw, and the
// welcome's epoch) gets exactly the messages after N, if the room still
// holds them (the latest 1000, or -history if larger); otherwise a
// "missed" notice and the usual history. The epoch names the room's log:
// it changes when the log is lost (this process restarted, or Redis lost
// its data), and a page from another epoch gets "restarted" instead.
// /ws?name=Ann asks for a starting name. Sequenced messages with seq
// above the welcome's "last" follow live.
//
// # Design
//
// The room publishes every accepted message to a [Broker], which numbers
// it and keeps the recent ones, and reads them back from one
// [Subscription]: so every client sees the broker's order. The broker is
// in memory by default; with -redis it is Redis (see redisBroker), and
// every process on that Redis serves one room, in one order. One
// goroutine encodes each message once as a ws.PreparedMessage and offers
// it to each client's ws.Queue without waiting. The queue's goroutine is
// the only one that writes the client's messages; a client that falls
// -queue messages (or -queue-bytes bytes) behind, or takes longer than
// -write-timeout for one, is closed with 1013 (try again later) and reason
// "too slow", and its page resumes from where it was. Nothing is dropped
// without the client being told. On shutdown a ws.Group sends every
// client 1001 at once and waits for the closing handshakes, up to a
// deadline.
//
// Commands longer than -max-message get an error reply; messages much
// longer than that (six times, plus room for JSON) close the connection
// with 1009. Each client has a token bucket of -burst commands refilled
// at -rate a second. Keepalive pings every -ping drop peers that stopped
// answering.
package main
