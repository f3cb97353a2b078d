package conformance

import (
	"fmt"
	"strings"

	"github.com/ab7c482b/websocket/frame"
)

// validUTF8 are text messages that must be accepted whole and however
// they are cut: code points at the edges of each encoding length, 4-byte
// characters and noncharacters (which are valid UTF-8).
var validUTF8 = []string{
	"Hello-µ@ßöäüàá-UTF-8!!",
	"κόσμε",
	"\U0001F600 grinning, \U0001F4A9 and \U0001F1E9\U0001F1EA",
	"\x00",
	"\x7f",
	"\u0080",
	"\u07ff",
	"\u0800",
	"\ud7ff",
	"\ue000",
	"\ufffd\ufffe\uffff",
	"\U00010000",
	"\U0010ffff",
	"\ufdd0\ufdef noncharacters",
}

// invalidUTF8 are byte sequences that are not UTF-8 anywhere in a text
// message (RFC 3629 §3, §4), named for the failure message.
var invalidUTF8 = []struct{ name, seq string }{
	{"overlong '/' in 2 bytes", "\xc0\xaf"},
	{"overlong '/' in 3 bytes", "\xe0\x80\xaf"},
	{"overlong '/' in 4 bytes", "\xf0\x80\x80\xaf"},
	{"overlong '/' in 5 bytes", "\xf8\x80\x80\x80\xaf"},
	{"overlong '/' in 6 bytes", "\xfc\x80\x80\x80\x80\xaf"},
	{"largest overlong 2-byte form", "\xc1\xbf"},
	{"largest overlong 3-byte form", "\xe0\x9f\xbf"},
	{"largest overlong 4-byte form", "\xf0\x8f\xbf\xbf"},
	{"overlong NUL in 2 bytes", "\xc0\x80"},
	{"overlong NUL in 3 bytes", "\xe0\x80\x80"},
	{"overlong NUL in 4 bytes", "\xf0\x80\x80\x80"},
	{"5-byte form", "\xf8\x88\x80\x80\x80"},
	{"6-byte form", "\xfc\x84\x80\x80\x80\x80"},
	{"surrogate U+D800", "\xed\xa0\x80"},
	{"surrogate U+DB7F", "\xed\xad\xbf"},
	{"surrogate U+DB80", "\xed\xae\x80"},
	{"surrogate U+DBFF", "\xed\xaf\xbf"},
	{"surrogate U+DC00", "\xed\xb0\x80"},
	{"surrogate U+DF80", "\xed\xbe\x80"},
	{"surrogate U+DFFF", "\xed\xbf\xbf"},
	{"surrogate pair U+D800 U+DC00", "\xed\xa0\x80\xed\xb0\x80"},
	{"U+110000, above U+10FFFF", "\xf4\x90\x80\x80"},
	{"4-byte form above U+10FFFF", "\xf7\xbf\xbf\xbf"},
	{"lead byte F5", "\xf5\x80\x80\x80"},
	{"stray continuation 0x80", "\x80"},
	{"stray continuation 0xBF", "\xbf"},
	{"two stray continuations", "\x80\xbf"},
	{"three stray continuations", "\x80\xbf\x80"},
	{"2-byte lead followed by a space", "\xc2 "},
	{"3-byte lead followed by a space", "\xe0 "},
	{"4-byte lead followed by a space", "\xf0 "},
	{"3-byte sequence missing its last byte", "\xe2\x82 "},
	{"byte 0xFE", "\xfe"},
	{"byte 0xFF", "\xff"},
	{"0xFE 0xFE 0xFF 0xFF", "\xfe\xfe\xff\xff"},
}

// truncatedUTF8 end a text message in the middle of a sequence: each
// piece is a valid start, so only the end of the message is wrong.
var truncatedUTF8 = []struct{ name, seq string }{
	{"2-byte sequence cut after its lead", "\xce"},
	{"3-byte sequence cut after 2 bytes", "\xe2\x82"},
	{"4-byte sequence cut after 3 bytes", "\xf0\x9f\x98"},
}

// Section 6: text must be UTF-8 (RFC 6455 §8.1), checked as it arrives so
// that a bad byte fails the connection with 1007 (§7.4.1) at once.
func utf8Cases() []testCase {
	var cs []testCase
	for i, s := range validUTF8 {
		n := i + 1
		q := fmt.Sprintf("%+q", s)
		one := []wireFrame{text(s)}
		cs = append(cs,
			echoCase(fmt.Sprintf("6.1.%d", n), "valid text "+q+" in one frame", one, textMsg(s)),
			echoCase(fmt.Sprintf("6.2.%d", n), "valid text "+q+" in fragments of 1 byte", fragments(frame.OpText, []byte(s), 1), textMsg(s)),
			chopped(echoCase(fmt.Sprintf("6.3.%d", n), "valid text "+q+" in one frame, one byte per write", one, textMsg(s)), 1))
		if len(s) > 1 {
			// One message per cut: 2 fragments split at every byte.
			var send []wireFrame
			var want []event
			for cut := 1; cut < len(s); cut++ {
				send = append(send, frag(frame.OpText, false, s[:cut]), frag(frame.OpContinuation, true, s[cut:]))
				want = append(want, textMsg(s))
			}
			cs = append(cs, echoCase(fmt.Sprintf("6.4.%d", n), "valid text "+q+" in 2 fragments, cut at each byte in turn", send, want...))
		}
	}
	for i, bad := range invalidUTF8 {
		s := "Hello-" + bad.seq + "-world"
		cs = append(cs,
			failCase(fmt.Sprintf("6.5.%d", i+1), "invalid text: "+bad.name+" in one frame", frame.CloseInvalidPayload, []wireFrame{text(s)}),
			failCase(fmt.Sprintf("6.6.%d", i+1), "invalid text: "+bad.name+" in fragments of 1 byte", frame.CloseInvalidPayload, fragments(frame.OpText, []byte(s), 1)))
	}
	for i, bad := range truncatedUTF8 {
		s := "Hello-" + bad.seq
		cs = append(cs,
			failCase(fmt.Sprintf("6.5.%d", len(invalidUTF8)+i+1), "invalid text: "+bad.name+" at the end of the message", frame.CloseInvalidPayload, []wireFrame{text(s)}),
			failCase(fmt.Sprintf("6.6.%d", len(invalidUTF8)+i+1), "invalid text: "+bad.name+" at the end of a message in fragments of 1 byte", frame.CloseInvalidPayload, fragments(frame.OpText, []byte(s), 1)))
	}
	// Fail fast: the close must come before the rest of the message is
	// sent (the last fragment is held back until it does).
	cont := frame.OpContinuation
	failFast := func(id, desc string, send []wireFrame, holdFrames, holdBytes int) testCase {
		tc := failCase(id, desc, frame.CloseInvalidPayload, send)
		tc.holdFrames, tc.holdBytes = holdFrames, holdBytes
		return tc
	}
	long := strings.Repeat("a", 100) + "\xed\xa0\x80" + strings.Repeat("b", 60000)
	cs = append(cs,
		failFast("6.7.1", "fail fast: a surrogate in fragment 2 of 3 closes before fragment 3 is sent",
			[]wireFrame{frag(frame.OpText, false, "κόσμε"), frag(cont, false, "\xed\xa0\x80"), frag(cont, true, "edited")}, 1, 0),
		failFast("6.7.2", "fail fast: F4 then 90 (above U+10FFFF) across fragments closes before the rest is sent",
			[]wireFrame{frag(frame.OpText, false, "Hello-\xf4"), frag(cont, false, "\x90"), frag(cont, true, "\x80\x80-world")}, 1, 0),
		failFast("6.7.3", "fail fast: a 2-byte lead then ASCII across fragments closes before the rest is sent",
			[]wireFrame{frag(frame.OpText, false, "Hello-\xce"), frag(cont, false, "A"), frag(cont, true, "-world")}, 1, 0),
		failFast("6.7.4", "fail fast: an overlong form in the first fragment closes before the last is sent",
			[]wireFrame{frag(frame.OpText, false, "\xc0\xafHello"), frag(cont, true, "-world")}, 1, 0),
		failFast("6.7.5", "fail fast: a surrogate 100 bytes into a 60 KiB frame closes before the rest of the frame is sent",
			[]wireFrame{text(long)}, 0, 60000),
		failCase("6.8.1", "invalid text after 4000 valid bytes of one frame: nothing invalid is echoed", frame.CloseInvalidPayload,
			[]wireFrame{text(strings.Repeat("a", 4000) + "\xed\xa0\x80" + strings.Repeat("b", 1000))}),
		failCase("6.8.2", "invalid text after 64 KiB of valid text in fragments: nothing invalid is echoed", frame.CloseInvalidPayload,
			fragments(frame.OpText, []byte(strings.Repeat("µ", 32<<10)+"\xf4\x90\x80\x80"+strings.Repeat("b", 1000)), 1000)),
	)
	return cs
}
