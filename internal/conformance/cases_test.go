package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/internal/autobahn"
)

// readLimit is the read limit of both ends under test: autobahn.ReadLimit
// for the client, and the same default for examples/echo's -read-limit.
const readLimit = autobahn.ReadLimit

// echoCase is a case that ends normally: the library sends back want,
// then answers the raw side's close frame (code 1000) with its own
// (RFC 6455 §5.5.1).
func echoCase(id, desc string, send []wireFrame, want ...event) testCase {
	return testCase{
		id: id, desc: desc, dirs: both,
		send: append(slices.Clip(send), closeFrame(frame.CloseNormal, "")),
		want: want, code: frame.CloseNormal,
	}
}

// failCase is a case where the library must fail the connection with
// code (RFC 6455 §7.1.7), after sending back want.
func failCase(id, desc string, code frame.CloseCode, send []wireFrame, want ...event) testCase {
	return testCase{id: id, desc: desc, dirs: both, send: send, want: want, code: code, fails: true}
}

func chopped(tc testCase, chop int) testCase {
	tc.chop = chop
	return tc
}

var (
	tableOnce sync.Once
	table     []testCase
)

// allCases returns the table, built once: its large payloads are shared
// by the cases that use them.
func allCases() []testCase {
	tableOnce.Do(func() {
		table = slices.Concat(
			framingCases(), pingCases(), rsvCases(), opcodeCases(),
			fragmentationCases(), utf8Cases(), closeCases(), limitCases(),
			miscCases(), compressionCases(), parameterCases())
	})
	return table
}

var payloads sync.Map // "t" or "b" and a length → []byte

func payload(op frame.Opcode, n int) []byte {
	key := fmt.Sprint(op, n)
	if p, ok := payloads.Load(key); ok {
		return p.([]byte)
	}
	p := binaryPayload(n)
	if op == frame.OpText {
		p = textPayload(n)
	}
	payloads.Store(key, p)
	return p
}

var dataTypes = []struct {
	op   frame.Opcode
	name string
}{{frame.OpText, "text"}, {frame.OpBinary, "binary"}}

// Section 1: framing of data messages at the length boundaries of
// RFC 6455 §5.2 (7-bit, 16-bit and 64-bit lengths), whole and in chops.
func framingCases() []testCase {
	lengths := []int{0, 125, 126, 127, 128, 65535, 65536, 16 << 20}
	var cs []testCase
	for s, dt := range dataTypes {
		for i, n := range lengths {
			p := payload(dt.op, n)
			send := []wireFrame{{fin: true, op: dt.op, payload: p}}
			cs = append(cs,
				echoCase(fmt.Sprintf("1.%d.%d", 1+s, i+1), fmt.Sprintf("%s message of %d bytes, one write", dt.name, n), send, msg(dt.op, p)),
				chopped(echoCase(fmt.Sprintf("1.%d.%d", 3+s, i+1), fmt.Sprintf("%s message of %d bytes in 997-byte chops", dt.name, n), send, msg(dt.op, p)), 997))
			if n <= 128 {
				cs = append(cs, chopped(echoCase(fmt.Sprintf("1.%d.%d", 5+s, i+1), fmt.Sprintf("%s message of %d bytes, one byte per write", dt.name, n), send, msg(dt.op, p)), 1))
			}
		}
	}
	for s, dt := range dataTypes {
		p := payload(dt.op, 65536)
		tc := echoCase(fmt.Sprintf("1.7.%d", s+1), fmt.Sprintf("%s message of 65536 bytes, its 64-bit length header written byte by byte", dt.name),
			[]wireFrame{{fin: true, op: dt.op, payload: p}}, msg(dt.op, p))
		tc.trickle = frame.MaxHeaderSize
		cs = append(cs, tc)
	}
	return cs
}

// Section 2: pings and pongs (RFC 6455 §5.5.2, §5.5.3).
func pingCases() []testCase {
	bin := "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
	p125 := strings.Repeat("\xfe", 125)
	var tenPings []wireFrame
	var tenPongs []event
	for i := range 10 {
		p := fmt.Sprintf("payload-%d", i)
		tenPings = append(tenPings, ping(p))
		tenPongs = append(tenPongs, pongEvent(p))
	}
	return []testCase{
		echoCase("2.1", "ping with an empty payload", []wireFrame{ping("")}, pongEvent("")),
		echoCase("2.2", "ping with a text payload", []wireFrame{ping("Hello, world!")}, pongEvent("Hello, world!")),
		echoCase("2.3", "ping with a binary payload", []wireFrame{ping(bin)}, pongEvent(bin)),
		echoCase("2.4", "ping with a 125-byte payload, the most a control frame holds", []wireFrame{ping(p125)}, pongEvent(p125)),
		failCase("2.5", "ping with a 126-byte payload", frame.CloseProtocolError, []wireFrame{ping(p125 + "x")}),
		chopped(echoCase("2.6", "ping with a 125-byte payload, one byte per write", []wireFrame{ping(p125)}, pongEvent(p125)), 1),
		echoCase("2.7", "unsolicited pong with an empty payload is ignored", []wireFrame{pong("")}),
		echoCase("2.8", "unsolicited pong with a payload is ignored", []wireFrame{pong("unsolicited pong payload")}),
		echoCase("2.9", "unsolicited pong, then a ping: only the ping is answered", []wireFrame{pong("unsolicited"), ping("solicited")}, pongEvent("solicited")),
		echoCase("2.10", "10 pings in a row are all answered, in order", tenPings, tenPongs...),
		chopped(echoCase("2.11", "10 pings in a row, one byte per write", tenPings, tenPongs...), 1),
		echoCase("2.12", "ping between two messages", []wireFrame{text("first"), ping("between"), text("second")},
			textMsg("first"), pongEvent("between"), textMsg("second")),
		failCase("2.13", "ping with a 65536-byte payload (64-bit length)", frame.CloseProtocolError,
			[]wireFrame{{fin: true, op: frame.OpPing, payload: payload(frame.OpBinary, 65536)}}),
		echoCase("2.14", "pong with a 125-byte payload is ignored", []wireFrame{pong(p125)}),
	}
}

// Section 3: reserved bits without a negotiated extension fail the
// connection (RFC 6455 §5.2); a message before them is echoed first.
func rsvCases() []testCase {
	kinds := []struct {
		name string
		f    func(rsv byte) wireFrame
	}{
		{"text", func(rsv byte) wireFrame {
			return wireFrame{fin: true, rsv: rsv, op: frame.OpText, payload: []byte("Hello")}
		}},
		{"binary", func(rsv byte) wireFrame {
			return wireFrame{fin: true, rsv: rsv, op: frame.OpBinary, payload: []byte{0, 1, 2, 0xfe, 0xff}}
		}},
		{"ping", func(rsv byte) wireFrame {
			return wireFrame{fin: true, rsv: rsv, op: frame.OpPing, payload: []byte("ping")}
		}},
		{"pong", func(rsv byte) wireFrame {
			return wireFrame{fin: true, rsv: rsv, op: frame.OpPong, payload: []byte("pong")}
		}},
		{"close", func(rsv byte) wireFrame {
			f := closeFrame(frame.CloseNormal, "")
			f.rsv = rsv
			return f
		}},
	}
	var cs []testCase
	for k, kind := range kinds {
		for v := 1; v <= 7; v++ {
			rsv := byte(v) << 4 // RSV1 is the high bit of the three
			cs = append(cs, failCase(fmt.Sprintf("3.%d.%d", k+1, v), fmt.Sprintf("%s frame with RSV=%d (%s), after a valid message", kind.name, v, rsvName(rsv)),
				frame.CloseProtocolError, []wireFrame{text("Hello"), kind.f(rsv), ping("after")}, textMsg("Hello")))
		}
	}
	for i, rsv := range []byte{frame.Rsv1, frame.Rsv2, frame.Rsv3} {
		cs = append(cs, failCase(fmt.Sprintf("3.6.%d", i+1), fmt.Sprintf("continuation frame with %s", rsvName(rsv)), frame.CloseProtocolError,
			[]wireFrame{frag(frame.OpText, false, "Hel"), {fin: true, rsv: rsv, op: frame.OpContinuation, payload: []byte("lo")}, ping("after")}))
	}
	cs = append(cs, chopped(failCase("3.7.1", "text frame with RSV1 after a valid message, one byte per write", frame.CloseProtocolError,
		[]wireFrame{text("Hello"), {fin: true, rsv: frame.Rsv1, op: frame.OpText, payload: []byte("Hello")}, ping("after")}, textMsg("Hello")), 1))
	return cs
}

func rsvName(rsv byte) string {
	var names []string
	for i, bit := range []byte{frame.Rsv1, frame.Rsv2, frame.Rsv3} {
		if rsv&bit != 0 {
			names = append(names, fmt.Sprintf("RSV%d", i+1))
		}
	}
	return strings.Join(names, "+")
}

// Section 4: reserved opcodes fail the connection (RFC 6455 §5.2).
func opcodeCases() []testCase {
	var cs []testCase
	for g, ops := range [][]frame.Opcode{{3, 4, 5, 6, 7}, {0xB, 0xC, 0xD, 0xE, 0xF}} {
		for i, op := range ops {
			for j, p := range []string{"", "reserved opcode payload"} {
				cs = append(cs, failCase(fmt.Sprintf("4.%d.%d", g+1, 2*i+j+1), fmt.Sprintf("reserved opcode %#x with %d bytes of payload, after a valid message", byte(op), len(p)),
					frame.CloseProtocolError, []wireFrame{text("Hello"), {fin: true, op: op, payload: []byte(p)}, ping("after")}, textMsg("Hello")))
			}
		}
	}
	cs = append(cs,
		failCase("4.3.1", "reserved data opcode 0x3 inside a fragmented message", frame.CloseProtocolError,
			[]wireFrame{frag(frame.OpText, false, "Hel"), {fin: true, op: 3, payload: []byte("lo")}}),
		failCase("4.3.2", "reserved control opcode 0xB inside a fragmented message", frame.CloseProtocolError,
			[]wireFrame{frag(frame.OpText, false, "Hel"), {fin: true, op: 0xB}, frag(frame.OpContinuation, true, "lo")}))
	return cs
}

// Section 5: fragmentation (RFC 6455 §5.4).
func fragmentationCases() []testCase {
	cont := frame.OpContinuation
	var ones, onesBin []wireFrame
	for i := range 1000 {
		ones = append(ones, frag(cont, i == 999, string(rune('a'+i%26))))
		onesBin = append(onesBin, frag(cont, i == 999, string(rune(i%128))))
	}
	ones[0].op, onesBin[0].op = frame.OpText, frame.OpBinary
	var oneText, oneBin bytes.Buffer
	for i := range 1000 {
		oneText.WriteByte(byte('a' + i%26))
		oneBin.WriteByte(byte(i % 128))
	}
	bin := payload(frame.OpBinary, 5*1021)
	var binFrags []wireFrame
	var binPongs []event
	for i, f := range fragments(frame.OpBinary, bin, 1021) {
		binFrags = append(binFrags, f)
		if i < 4 {
			p := fmt.Sprintf("between fragments %d and %d", i+1, i+2)
			binFrags = append(binFrags, ping(p))
			binPongs = append(binPongs, pongEvent(p))
		}
	}
	return []testCase{
		failCase("5.1", "ping fragmented into 2 frames", frame.CloseProtocolError,
			[]wireFrame{{op: frame.OpPing, payload: []byte("frag-")}, frag(cont, true, "ment")}),
		failCase("5.2", "pong fragmented into 2 frames", frame.CloseProtocolError,
			[]wireFrame{{op: frame.OpPong, payload: []byte("frag-")}, frag(cont, true, "ment")}),
		echoCase("5.3", "text message in 2 fragments", []wireFrame{frag(frame.OpText, false, "frag-"), frag(cont, true, "ment")}, textMsg("frag-ment")),
		chopped(echoCase("5.4", "text message in 2 fragments, one byte per write",
			[]wireFrame{frag(frame.OpText, false, "frag-"), frag(cont, true, "ment")}, textMsg("frag-ment")), 1),
		echoCase("5.5", "binary message in 2 fragments", []wireFrame{{op: frame.OpBinary, payload: []byte{0, 1}}, {fin: true, op: cont, payload: []byte{0xfe, 0xff}}},
			msg(frame.OpBinary, []byte{0, 1, 0xfe, 0xff})),
		echoCase("5.6", "text message in 2 fragments with a ping between: the ping is answered, the message intact",
			[]wireFrame{frag(frame.OpText, false, "frag-"), ping("between"), frag(cont, true, "ment")}, pongEvent("between"), textMsg("frag-ment")),
		chopped(echoCase("5.7", "text message in 2 fragments with a ping between, one byte per write",
			[]wireFrame{frag(frame.OpText, false, "frag-"), ping("between"), frag(cont, true, "ment")}, pongEvent("between"), textMsg("frag-ment")), 1),
		echoCase("5.8", "text message in 2 fragments with an unsolicited pong between, which is ignored",
			[]wireFrame{frag(frame.OpText, false, "frag-"), pong("between"), frag(cont, true, "ment")}, textMsg("frag-ment")),
		echoCase("5.9", "binary message in 5 fragments with a ping between each two", binFrags, append(binPongs, msg(frame.OpBinary, bin))...),
		failCase("5.10", "continuation frame (FIN set) with no message open", frame.CloseProtocolError,
			[]wireFrame{frag(cont, true, "stray"), text("after")}),
		chopped(failCase("5.11", "continuation frame (FIN set) with no message open, one byte per write", frame.CloseProtocolError,
			[]wireFrame{frag(cont, true, "stray"), text("after")}), 1),
		failCase("5.12", "continuation frame (FIN clear) with no message open", frame.CloseProtocolError,
			[]wireFrame{frag(cont, false, "stray"), frag(cont, true, "more"), text("after")}),
		failCase("5.13", "continuation frame right after a whole message", frame.CloseProtocolError,
			[]wireFrame{text("whole"), frag(cont, true, "stray")}, textMsg("whole")),
		failCase("5.14", "text frame inside an open fragmented text message", frame.CloseProtocolError,
			[]wireFrame{frag(frame.OpText, false, "frag-"), text("ment")}),
		failCase("5.15", "binary frame inside an open fragmented text message", frame.CloseProtocolError,
			[]wireFrame{frag(frame.OpText, false, "frag-"), binary([]byte("ment"))}),
		failCase("5.16", "fragmented message, then a continuation that opens nothing", frame.CloseProtocolError,
			[]wireFrame{frag(frame.OpText, false, "frag-"), frag(cont, true, "ment"), frag(cont, false, "stray"), frag(cont, true, "more")},
			textMsg("frag-ment")),
		failCase("5.17", "close frame with FIN clear", frame.CloseProtocolError,
			[]wireFrame{{op: frame.OpClose, payload: binary16(1000)}, frag(cont, true, "")}),
		failCase("5.18", "fragmented ping inside a fragmented message", frame.CloseProtocolError,
			[]wireFrame{frag(frame.OpText, false, "frag-"), {op: frame.OpPing, payload: []byte("ping")}, frag(cont, true, "ment")}),
		echoCase("5.19", "text message in 1000 fragments of 1 byte", ones, msg(frame.OpText, oneText.Bytes())),
		echoCase("5.20", "binary message in 1000 fragments of 1 byte", onesBin, msg(frame.OpBinary, oneBin.Bytes())),
		echoCase("5.21", "text message of 3 empty fragments", []wireFrame{frag(frame.OpText, false, ""), frag(cont, false, ""), frag(cont, true, "")}, textMsg("")),
		echoCase("5.22", "text message with empty first and last fragments", []wireFrame{frag(frame.OpText, false, ""), frag(cont, false, "Hello"), frag(cont, true, "")}, textMsg("Hello")),
		echoCase("5.23", "binary message of an empty fragment only, FIN clear then an empty continuation",
			[]wireFrame{{op: frame.OpBinary}, {fin: true, op: cont}}, msg(frame.OpBinary, []byte{})),
		echoCase("5.24", "fragmented message, then a whole one, then another fragmented one",
			[]wireFrame{frag(frame.OpText, false, "one-"), frag(cont, true, "two"), binary([]byte{3}), frag(frame.OpText, false, "four-"), ping("p"), frag(cont, true, "five")},
			textMsg("one-two"), msg(frame.OpBinary, []byte{3}), pongEvent("p"), textMsg("four-five")),
		echoCase("5.25", "fragmented text message split inside a multi-byte character",
			[]wireFrame{frag(frame.OpText, false, "\xce\xba\xe1"), frag(cont, false, "\xbd"), frag(cont, true, "\xb9\xcf\x83\xce\xbc\xce\xb5")},
			textMsg("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")),
	}
}
