package conformance

import (
	"fmt"
	"strings"

	"github.com/ab7c482b/websocket/frame"
)

// closeEcho is a case that ends with the raw side's close frame c, which
// the library answers with code.
func closeEcho(id, desc string, send []wireFrame, c wireFrame, code frame.CloseCode, want ...event) testCase {
	return testCase{id: id, desc: desc, dirs: both, send: append(send, c), want: want, code: code}
}

// Section 7: the closing handshake (RFC 6455 §5.5.1, §7).
func closeCases() []testCase {
	cont := frame.OpContinuation
	bye := closeFrame(frame.CloseNormal, "")
	big := payload(frame.OpText, 256<<10)
	cs := []testCase{
		closeEcho("7.1.1", "message, then close: the message is echoed, then the close", []wireFrame{text("Hello")}, bye, frame.CloseNormal, textMsg("Hello")),
		closeEcho("7.1.2", "close sent twice: answered once", nil, bye, frame.CloseNormal),
		closeEcho("7.1.3", "ping after the close: not answered", nil, bye, frame.CloseNormal),
		closeEcho("7.1.4", "text after the close: not echoed", nil, bye, frame.CloseNormal),
		closeEcho("7.1.5", "close between the fragments of a message: the message is dropped", []wireFrame{frag(frame.OpText, false, "frag-")}, bye, frame.CloseNormal),
		closeEcho("7.1.6", "256 KiB message, ping and close in one write", []wireFrame{{fin: true, op: frame.OpText, payload: big}, ping("after")}, bye, frame.CloseNormal,
			msg(frame.OpText, big), pongEvent("after")),
		closeEcho("7.3.1", "close with an empty payload: answered with an empty payload", nil, closeRaw(nil), frame.CloseNoStatus),
		failCase("7.3.2", "close with a 1-byte payload", frame.CloseProtocolError, []wireFrame{closeRaw([]byte{0x03})}),
		closeEcho("7.3.3", "close 1000 without a reason", nil, bye, frame.CloseNormal),
		closeEcho("7.3.4", "close 1000 with a reason", nil, closeFrame(frame.CloseNormal, "Hello World!"), frame.CloseNormal),
		closeEcho("7.3.5", "close 1000 with a 123-byte reason (a 125-byte payload)", nil, closeFrame(frame.CloseNormal, strings.Repeat("*", 123)), frame.CloseNormal),
		failCase("7.3.6", "close 1000 with a 124-byte reason (a 126-byte payload)", frame.CloseProtocolError, []wireFrame{closeFrame(frame.CloseNormal, strings.Repeat("*", 124))}),
		failCase("7.5.1", "close 1000 with a reason that is not UTF-8", frame.CloseInvalidPayload,
			[]wireFrame{closeFrame(frame.CloseNormal, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")}),
		failCase("7.5.2", "close 1000 with a reason cut inside a character", frame.CloseInvalidPayload, []wireFrame{closeFrame(frame.CloseNormal, "Hello-\xce")}),
		chopped(closeEcho("7.10.1", "close 1000 with a reason, one byte per write", nil, closeFrame(frame.CloseNormal, "bye"), frame.CloseNormal), 1),
	}
	// What follows the close is never answered (RFC 6455 §5.5.1).
	cs[1].send = append(cs[1].send, bye)
	cs[2].send = append(cs[2].send, ping("after close"))
	cs[3].send = append(cs[3].send, text("after close"))
	cs[4].send = append(cs[4].send, frag(cont, true, "ment"))
	// RFC 6455 §7.1.1: the server closes TCP first. Against the server
	// every case checks this; against the client this one checks that
	// it waits.
	drop := closeEcho("7.2.1", "close, then the server closes TCP first", []wireFrame{text("Hello")}, bye, frame.CloseNormal, textMsg("Hello"))
	drop.serverDropsFirst = true
	cs = append(cs, drop)

	// Codes that may be sent are answered with the same code; the others
	// fail the connection (RFC 6455 §7.4).
	for i, code := range []frame.CloseCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		cs = append(cs, closeEcho(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("close with valid code %d is answered with %d", code, code), nil,
			closeFrame(code, "reason"), code))
	}
	for i, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cs = append(cs, failCase(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("close with invalid code %d", code), frame.CloseProtocolError,
			[]wireFrame{closeRaw(binary16(code))}))
	}
	return cs
}
