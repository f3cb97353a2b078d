// Bench compares this library's echo server with other Go WebSocket
// servers, side by side on one machine: gorilla/websocket, coder/websocket,
// gobwas/ws, lxzan/gws and lesismal/nbio, with a raw TCP echo (no
// framing) as the ceiling.
//
// It is a nested module, so that the main module's go.mod never lists the
// peer libraries. From the repository root:
//
//	go -C internal/bench run . -quick   # a corner of each suite, under 90 s; prints the tables
//	go -C internal/bench run .          # everything, about 15 min; writes results/latest.{md,json,svg}
//	go -C internal/bench test ./...     # what CI runs: one short cell per server, replies checked
//
//	go -C internal/bench run . -suites compression -out /tmp/comp   # the compression suite alone, about 3 min
//
// (or cd internal/bench first and drop -C). Flags: -rounds, -cell,
// -impls ours,gorilla,..., -suites echo,idle,broadcast,handshakes,compression,
// -match REGEXP (echo cells, compressed or not), -out. A run of some suites
// only should write elsewhere than results/ (-out), which holds the last
// full run.
//
// # Method
//
// Every server runs in its own process, so that its CPU time (user plus
// system, from /proc/PID/stat) and memory (VmRSS) are its own: the same
// binary run again as "bench -serve NAME -addr 127.0.0.1:0". Ours is
// examples/echo, built from the main module: the echo server the
// library's users are told to write. Broadcasts run in the bench binary's
// own "ours" server as cmd/chat does: one ws.PreparedMessage per message,
// offered to a ws.Queue per subscriber, whose goroutine writes it.
//
// One load generator drives them all. It writes the handshake and masked
// client frames by hand, each frame masked once per payload size with a
// fixed key, reads replies through a bufio.Reader without copying them,
// and offers no extension, so every server is compared uncompressed,
// except in the compression suite.
//
// The servers use each library as its documentation shows, with two
// choices made alike for all: servers with a streaming API (ours, gorilla,
// coder) echo each message through their Reader and Writer with one 32 KiB
// buffer per connection, as examples/echo does; gobwas/ws runs its
// low-level API (ReadHeader, Cipher, WriteHeader) in a minimal loop;
// gws and nbio answer from their OnMessage callbacks. Read limits are
// raised to 32 MiB where the default is below the largest message.
//
// # Suites
//
// Echo: payloads of 16 B, 1 KiB, 16 KiB and 1 MiB, over 1, 64 and 1000
// connections, each either ping-pong (one message in flight) or pipelined
// (16 in flight): messages per second, and server CPU per message, the
// figure that separates servers, since the load generator shares the
// cores. Reply bytes are counted as they arrive and divided by the
// payload size, so that 1 MiB replies over 1000 connections do not land
// in lumps; the warm-up lasts until every connection has had a reply's
// worth back, since servers that read whole messages answer nothing for
// seconds at first under that load.
//
// Handshakes: opening handshakes per second from 16 concurrent clients,
// each connection reset after its 101 response, and server CPU per
// handshake.
//
// Broadcast: to 1,000 and 5,000 subscribers, the median time until all
// have one 128-byte message, then the rate and server CPU per delivery of
// a burst.
//
// Compression: permessage-deflate in each mode a server supports
// (no context takeover: all but raw; context takeover: ours, coder and
// gws), JSON-like text of 1 KiB and 16 KiB over 64 connections, ping-pong
// and pipelined, then memory per idle connection at 2,000 connections
// after one compressed exchange each. The client offers the mode, sends
// messages deflated once ahead of time (several different ones in turn,
// so that context takeover finds no twin in its window) and counts the
// compressed replies by their headers without inflating them; the tables
// add the reply size on the wire and ours over the best peer. Ours is
// examples/echo -compression MODE, or the same loop in this binary if
// examples/echo has no such flag.
//
// Idle: server memory per idle connection at 5,000 and 20,000
// connections, on a fresh server process. Where RLIMIT_NOFILE's hard limit
// cannot be raised (it needs CAP_SYS_RESOURCE), the larger count is cut to
// what the limit allows and the tables say so.
//
// # Reading the results
//
// Each measurement is repeated in rounds, the servers in a rotated order,
// and the tables give medians with, in parentheses, the median over
// rounds of the ratio to ours in the same round: absolute figures drift on
// a shared machine, ratios taken moments apart much less. All traffic
// stays on 127.0.0.0/8, and every loop is bounded in time and count.
package main
