package conformance

import (
	"bytes"
	"compress/flate"
	"fmt"
	"sync"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/ws"
)

// deflateSizes are the message sizes of section 12, Autobahn's.
var deflateSizes = []int{16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072}

// payloadKinds are the kinds of data section 12 compresses.
var payloadKinds = map[string]struct {
	op   frame.Opcode
	make func(n int) []byte
}{
	"repetitive text": {frame.OpText, textPayload},
	"JSON-like text":  {frame.OpText, jsonPayload},
	"random binary":   {frame.OpBinary, binaryPayload},
}

// inARow returns count messages of n bytes of a kind, cut one after the
// other from one stream of it, so that with context takeover each can
// refer back to the ones before.
func inARow(kind string, n, count, frag int) []message {
	k := payloadKinds[kind]
	src := k.make(n * count)
	ms := make([]message, count)
	for i := range ms {
		ms[i] = message{op: k.op, data: src[i*n : (i+1)*n], frag: frag}
	}
	return ms
}

// Section 12: compressed messages of Autobahn's sizes and several kinds,
// whole and fragmented, three in a row, echoed byte-exact: compressed if
// at least compressThreshold bytes long, with RSV1 on the first frame
// only (RFC 7692 §6), and plain below it. Both ends, in both modes.
func compressionCases() []testCase {
	groups := []struct {
		kind  string
		frag  int
		setup deflateSetup
		plain bool // every other message goes uncompressed
	}{
		{"repetitive text", 0, defaultSetup, false},
		{"JSON-like text", 0, defaultSetup, false},
		{"random binary", 0, defaultSetup, false},
		{"JSON-like text", 1 << 10, defaultSetup, false},
		{"random binary", 4 << 10, defaultSetup, false},
		{"repetitive text", 0, takeoverSetup, false},
		{"JSON-like text", 4 << 10, takeoverSetup, false},
		{"JSON-like text", 0, takeoverSetup, true},
	}
	var cs []testCase
	for g, gr := range groups {
		for i, n := range deflateSizes {
			ms := inARow(gr.kind, n, 3, gr.frag)
			desc := fmt.Sprintf("3 %s messages of %s", gr.kind, byteSize(n))
			if gr.frag > 0 {
				desc += fmt.Sprintf(" in fragments of %s", byteSize(gr.frag))
			}
			if gr.plain {
				ms[1].plain = true
				desc += ", the second sent uncompressed"
			}
			if gr.setup.mode == ws.CompressionContextTakeover {
				desc += ", context takeover"
			}
			cs = append(cs, deflateCase(fmt.Sprintf("12.%d.%d", g+1, i+1), desc, both, gr.setup, ms...))
		}
	}
	return cs
}

// exchange is the run of messages a section 13 case sends: JSON-like text
// of sizes from 16 B to 128 KiB, cut from one stream, and a binary one.
// The cases share it, so that they share its frames too (deflateCase).
var exchange = sync.OnceValue(func() []message {
	sizes := []int{16, 64, 256, 1024, 4096, 16384, 65536, 131072, 4096}
	total := 0
	for _, n := range sizes {
		total += n
	}
	src := jsonPayload(total)
	var ms []message
	for _, n := range sizes {
		ms = append(ms, message{op: frame.OpText, data: src[:n]})
		src = src[n:]
	}
	return append(ms, message{op: frame.OpBinary, data: binaryPayload(2048)})
})

// Section 13: the parameters of permessage-deflate (RFC 7692 §7.1).
func parameterCases() []testCase {
	none := clientOffers[ws.CompressionNoContextTakeover]
	both13 := pmd + "; " + serverNoTakeover + "; " + clientNoTakeover
	var cs []testCase

	// 13.1, 13.2: offers the server accepts, with the response RFC 7692
	// requires for the mode it runs in: in the default mode it keeps no
	// context either way, and asks the client not to (§7.1.1); a
	// server_max_window_bits it accepts is answered (§7.1.2.1), and below
	// 15 bits the server compresses with Huffman coding alone.
	accepted := []struct{ offer, inDefault, inTakeover string }{
		{pmd, both13, pmd},
		{pmd + "; " + clientNoTakeover, both13, pmd + "; " + clientNoTakeover},
		{pmd + "; " + serverNoTakeover, both13, pmd + "; " + serverNoTakeover},
		{both13, both13, both13},
		{pmd + "; " + clientMaxWindow, both13, pmd},
		{pmd + "; " + serverMaxWindow + "=15", both13 + "; " + serverMaxWindow + "=15", pmd + "; " + serverMaxWindow + "=15"},
		// §7.1.3: the first of several offers that the server can honour.
		{pmd + "; " + clientMaxWindow + "; " + serverMaxWindow + "=10, " + pmd + "; " + clientMaxWindow,
			both13 + "; " + serverMaxWindow + "=10", pmd + "; " + serverMaxWindow + "=10"},
		{pmd + "; " + serverMaxWindow + "=7, " + pmd + "; " + clientMaxWindow, both13, pmd},
		{pmd + "; foo=1, " + pmd + "; " + clientNoTakeover, both13, pmd + "; " + clientNoTakeover},
		{"x-webkit-deflate-frame, " + pmd, both13, pmd},
		{pmd + `; ` + clientMaxWindow + `="12"`, both13, pmd},
		{pmd + "; " + clientNoTakeover + "; " + serverNoTakeover + "; " + clientMaxWindow + "; " + serverMaxWindow + "=15",
			both13 + "; " + serverMaxWindow + "=15", both13 + "; " + serverMaxWindow + "=15"},
	}
	for bits := 8; bits <= 15; bits++ {
		offer := fmt.Sprintf("%s; %s=%d", pmd, clientMaxWindow, bits)
		accepted = append(accepted, struct{ offer, inDefault, inTakeover string }{offer, both13, pmd})
	}
	for bits := 8; bits <= 14; bits++ {
		window := fmt.Sprintf("; %s=%d", serverMaxWindow, bits)
		accepted = append(accepted, struct{ offer, inDefault, inTakeover string }{pmd + window, both13 + window, pmd + window})
	}
	for i, a := range accepted {
		cs = append(cs,
			deflateCase(fmt.Sprintf("13.1.%d", i+1), fmt.Sprintf("offer %q accepted in the default mode", a.offer), toServer,
				deflateSetup{offer: a.offer, agreed: a.inDefault}, exchange()...),
			deflateCase(fmt.Sprintf("13.2.%d", i+1), fmt.Sprintf("offer %q accepted with context takeover", a.offer), toServer,
				deflateSetup{offer: a.offer, mode: ws.CompressionContextTakeover, agreed: a.inTakeover}, exchange()...))
	}

	// 13.3: offers the server declines (RFC 7692 §5.1, §7: an offer that
	// is not valid): the 101 response has no extension and messages come
	// back plain.
	declined := []string{
		pmd + "; " + clientNoTakeover + "; " + clientNoTakeover,
		pmd + "; " + serverMaxWindow + "=15; " + serverMaxWindow + "=15",
		pmd + "; foo",
		pmd + "; foo=bar",
		pmd + "; " + clientMaxWindow + "=16",
		pmd + "; " + clientMaxWindow + "=7",
		pmd + "; " + clientMaxWindow + "=07",
		pmd + "; " + clientMaxWindow + "=abc",
		pmd + "; " + serverMaxWindow,
		pmd + "; " + serverMaxWindow + "=16",
		pmd + "; " + serverNoTakeover + "=1",
		"x-webkit-deflate-frame",
	}
	for i, offer := range declined {
		cs = append(cs, deflateCase(fmt.Sprintf("13.3.%d", i+1), fmt.Sprintf("offer %q declined", offer), toServer,
			deflateSetup{offer: offer}, exchange()...))
	}
	cs = append(cs, deflateCase(fmt.Sprintf("13.3.%d", len(declined)+1), "offer declined by a server with -compression disabled", toServer,
		deflateSetup{offer: none, mode: ws.CompressionDisabled}, exchange()...))

	// 13.4, 13.5: responses our client accepts, in each mode, and the
	// messages it then exchanges. A client fails only a response it did
	// not offer or cannot honour (RFC 7692 §7.1): a server may keep
	// context it was asked not to (our client then keeps the dictionary),
	// ask the client not to keep it, and narrow its own window.
	type answers struct {
		mode ws.CompressionMode
		list []string // the last one also gets each server_max_window_bits
	}
	for s, a := range []answers{
		{ws.CompressionNoContextTakeover, []string{pmd + "; " + serverNoTakeover, pmd, pmd + "; " + clientNoTakeover,
			both13 + "; " + clientMaxWindow + "=10", both13 + "; " + clientMaxWindow + "=15", both13}},
		{ws.CompressionContextTakeover, []string{both13, pmd + "; " + serverNoTakeover, pmd + "; " + clientNoTakeover,
			pmd + "; " + clientMaxWindow + "=8", pmd + "; " + clientMaxWindow + "=15", pmd}},
	} {
		list := a.list
		for bits := 8; bits <= 15; bits++ {
			list = append(list, fmt.Sprintf("%s; %s=%d", a.list[len(a.list)-1], serverMaxWindow, bits))
		}
		for i, answer := range list {
			cs = append(cs, deflateCase(fmt.Sprintf("13.%d.%d", 4+s, i+1), fmt.Sprintf("client in mode %v accepts %q", a.mode, answer), toClient,
				deflateSetup{mode: a.mode, agreed: answer}, exchange()...))
		}
	}

	// 13.6: responses our client must fail (RFC 7692 §5.2, §7.1): a
	// parameter it did not offer or with a bad value, twice the same,
	// two permessage-deflate, an extension not offered.
	for i, f := range []struct {
		mode   ws.CompressionMode
		answer string
	}{
		{0, pmd + "; " + clientMaxWindow + "=16"},
		{0, pmd + "; " + clientMaxWindow},
		{ws.CompressionContextTakeover, pmd + "; " + clientMaxWindow + "=10; " + clientMaxWindow + "=10"},
		{0, pmd + "; foo"},
		{0, pmd + "; foo=1"},
		{0, pmd + "; " + serverNoTakeover + "; " + serverNoTakeover},
		{0, pmd + "; " + serverMaxWindow + "=10; " + serverMaxWindow + "=10"},
		{0, pmd + ", " + pmd},
		{0, pmd + "; " + serverMaxWindow + "=16"},
		{0, pmd + "; " + serverMaxWindow + "=7"},
		{0, pmd + "; " + serverMaxWindow + "=08"},
		{0, pmd + "; " + serverMaxWindow},
		{0, pmd + "; " + clientNoTakeover + "=1"},
		{0, "x-webkit-deflate-frame"},
		{ws.CompressionDisabled, pmd},
	} {
		cs = append(cs, testCase{id: fmt.Sprintf("13.6.%d", i+1), desc: fmt.Sprintf("client in mode %v fails the handshake on %q", f.mode, f.answer),
			dirs: toClient, pmd: &deflateSetup{mode: f.mode, agreed: f.answer}, dialFails: true})
	}
	return append(cs, deflateViolations()...)
}

// 13.7: compressed data that breaks RFC 7692 fails the connection.
func deflateViolations() []testCase {
	cont := frame.OpContinuation
	hello := jsonPayload(1000)
	z := compressed(hello, 0)
	zMsg := msg(frame.OpText, hello)
	zMsg.compressed = true
	half := len(z) / 2
	d := defaultSetup
	// Against the server the raw client offers what echo declines; against
	// the client the raw server answers nothing.
	declined := deflateSetup{offer: pmd + "; " + serverMaxWindow + "=7"}

	// Two identical messages, the second compressed with the first as its
	// dictionary, though the sender agreed not to keep context: the
	// library's decompressor has no dictionary (RFC 7692 §7.2.2).
	twice := rawDeflater{p: rawParams{outTakeover: true, window: 15}}
	first, second := twice.compress(hello), twice.compress(hello)
	refersBack := func(id string, dirs direction, param string) testCase {
		return deflateFail(id, "second message refers back to the first though "+param+" was agreed", dirs, d, frame.CloseInvalidPayload,
			[]wireFrame{{fin: true, rsv: frame.Rsv1, op: frame.OpText, payload: first}, {fin: true, rsv: frame.Rsv1, op: frame.OpText, payload: second}, ping("after")}, zMsg)
	}

	over := make([]byte, readLimit+1)
	zOver := compressed(over, flate.BestSpeed)
	badUTF8 := compressed(append(bytes.Clone(hello), 0xc0, 0xaf), 0)
	rsv1 := func(f wireFrame) wireFrame { f.rsv |= frame.Rsv1; return f }
	return []testCase{
		deflateFail("13.7.1", "RSV1 on a continuation frame of a compressed message", both, d, frame.CloseProtocolError,
			[]wireFrame{{rsv: frame.Rsv1, op: frame.OpText, payload: z[:half]}, {fin: true, rsv: frame.Rsv1, op: cont, payload: z[half:]}, ping("after")}),
		deflateFail("13.7.2", "RSV1 on the continuation frame only", both, d, frame.CloseProtocolError,
			[]wireFrame{frag(frame.OpText, false, "Hel"), {fin: true, rsv: frame.Rsv1, op: cont, payload: []byte("lo")}, ping("after")}),
		deflateFail("13.7.3", "RSV1 on a ping, after a compressed message", both, d, frame.CloseProtocolError,
			[]wireFrame{{fin: true, rsv: frame.Rsv1, op: frame.OpText, payload: z}, rsv1(ping("ping")), ping("after")}, zMsg),
		deflateFail("13.7.4", "RSV1 on a pong", both, d, frame.CloseProtocolError, []wireFrame{rsv1(pong("pong")), ping("after")}),
		deflateFail("13.7.5", "RSV1 on a close frame", both, d, frame.CloseProtocolError, []wireFrame{rsv1(closeFrame(frame.CloseNormal, "")), ping("after")}),
		deflateFail("13.7.6", "RSV1 on a ping between the fragments of a compressed message", both, d, frame.CloseProtocolError,
			[]wireFrame{{rsv: frame.Rsv1, op: frame.OpText, payload: z[:half]}, rsv1(ping("between")), {fin: true, op: cont, payload: z[half:]}}),
		deflateFail("13.7.7", "RSV2 on a compressed message", both, d, frame.CloseProtocolError,
			[]wireFrame{{fin: true, rsv: frame.Rsv1 | frame.Rsv2, op: frame.OpText, payload: z}, ping("after")}),
		deflateFail("13.7.8", "RSV1 when permessage-deflate was declined", both, declined, frame.CloseProtocolError,
			[]wireFrame{text("Hello"), {fin: true, rsv: frame.Rsv1, op: frame.OpText, payload: z}, ping("after")}, textMsg("Hello")),
		deflateFail("13.7.9", "compressed data with a reserved block type", both, d, frame.CloseInvalidPayload,
			[]wireFrame{{fin: true, rsv: frame.Rsv1, op: frame.OpBinary, payload: []byte{0xff, 0xff, 0xff, 0xff}}, ping("after")}),
		deflateFail("13.7.10", "stored block whose length check fails", both, d, frame.CloseInvalidPayload,
			[]wireFrame{{fin: true, rsv: frame.Rsv1, op: frame.OpBinary, payload: []byte{0x00, 0x05, 0x00, 0x00, 0x00, 'H', 'e', 'l', 'l', 'o'}}, ping("after")}),
		deflateFail("13.7.11", "corrupt data in the last fragment, after a good message", both, d, frame.CloseInvalidPayload,
			// z leaves the decompressor in the empty stored block whose
			// LEN and NLEN the sender stripped: ff ff / ff 00 do not match.
			[]wireFrame{{fin: true, rsv: frame.Rsv1, op: frame.OpText, payload: z}, {rsv: frame.Rsv1, op: frame.OpText, payload: z}, {fin: true, op: cont, payload: []byte{0xff, 0xff, 0xff}}, ping("after")}, zMsg),
		refersBack("13.7.12", toServer, clientNoTakeover),
		refersBack("13.7.13", toClient, serverNoTakeover),
		deflateFail("13.7.14", "compressed text that inflates to invalid UTF-8", both, d, frame.CloseInvalidPayload,
			[]wireFrame{{fin: true, rsv: frame.Rsv1, op: frame.OpText, payload: badUTF8}, ping("after")}),
		deflateFail("13.7.15", fmt.Sprintf("compressed message of %s that inflates to 1 byte over the read limit", byteSize(len(zOver))), both, d, frame.CloseMessageTooBig,
			[]wireFrame{{fin: true, rsv: frame.Rsv1, op: frame.OpBinary, payload: zOver}, ping("after")}),
		deflateFail("13.7.16", "compressed message over the read limit, in fragments of 1 KiB", both, d, frame.CloseMessageTooBig,
			append(fragmentsRsv1(frame.OpBinary, zOver, 1<<10), ping("after"))),
	}
}

// fragmentsRsv1 is fragments for a compressed payload: RSV1 on the first.
func fragmentsRsv1(op frame.Opcode, z []byte, size int) []wireFrame {
	fs := fragments(op, z, size)
	fs[0].rsv = frame.Rsv1
	return fs
}
