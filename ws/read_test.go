package ws_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failCase is a peer that breaks RFC 6455: the frames it sends, and the
// close code the Conn must fail the connection with (§7.1.7).
type failCase struct {
	name   string
	client bool // the Conn is a client, so the peer is a server and does not mask
	raw    bool // send frames as they are, even to a server
	cfg    ws.Config
	setup  func(c *ws.Conn) // if set, called before the peer sends
	frames []string
	want   ws.StatusCode
}

func failCases() []failCase {
	tests := []failCase{
		// §5.1: a server must fail a connection on an unmasked frame, a
		// client on a masked one.
		{name: "unmasked frame from client", raw: true, frames: []string{"\x81\x05hello"}, want: ws.StatusProtocolError},
		{name: "masked frame from server", client: true, frames: []string{string(clientFrame("\x81\x05hello"))}, want: ws.StatusProtocolError},
		// §5.2: RSV bits set with no extension negotiated.
		{name: "RSV1", frames: []string{"\xc1\x05hello"}, want: ws.StatusProtocolError},
		{name: "RSV2", frames: []string{"\xa1\x05hello"}, want: ws.StatusProtocolError},
		{name: "RSV3", frames: []string{"\x91\x05hello"}, want: ws.StatusProtocolError},
		{name: "RSV1 on a ping", frames: []string{"\xc9\x00"}, want: ws.StatusProtocolError},
		{name: "RSV1 on a continuation", frames: []string{"\x01\x03hel", "\xc0\x02lo"}, want: ws.StatusProtocolError},
		// §5.5: control frames are at most 125 bytes and never fragmented.
		{name: "ping of 126 bytes", frames: []string{wireFrame(0x89, make([]byte, 126))}, want: ws.StatusProtocolError},
		{name: "fragmented ping", frames: []string{"\x09\x00"}, want: ws.StatusProtocolError},
		// §5.4: continuations only inside a message, and a new message
		// only after the last one ended.
		{name: "continuation with no message", frames: []string{"\x80\x02hi"}, want: ws.StatusProtocolError},
		{name: "text inside a fragmented message", frames: []string{"\x01\x02hi", "\x81\x02hi"}, want: ws.StatusProtocolError},
		// §5.2: the length in the shortest form only.
		{name: "non-minimal 16-bit length", frames: []string{"\x82\x7e\x00\x05hello"}, want: ws.StatusProtocolError},
		// §5.5.1: a close payload is empty, or a code and a reason.
		{name: "close payload of 1 byte", frames: []string{"\x88\x01\x03"}, want: ws.StatusProtocolError},
		// §8.1: text must be UTF-8, checked as it arrives.
		{name: "invalid UTF-8 in text", frames: []string{"\x81\x04ab\xc3\x28"}, want: ws.StatusInvalidPayload},
		{name: "text ends inside a character", frames: []string{"\x81\x03ab\xe2"}, want: ws.StatusInvalidPayload},
		{name: "UTF-8 surrogate", frames: []string{"\x81\x03\xed\xa0\x80"}, want: ws.StatusInvalidPayload},
		{name: "invalid UTF-8 in the last fragment", frames: []string{"\x01\x02ab", "\x80\x01\xff"}, want: ws.StatusInvalidPayload},
		{name: "invalid UTF-8 in a close reason", frames: []string{"\x88\x04" + closePayload(1000, "\xff\xfe")}, want: ws.StatusInvalidPayload},
		// §10.4: a message over the limit fails with 1009 (§7.4.1) as
		// soon as a header announces it, before any of its payload.
		{name: "default limit, 16 MiB + 1 announced", frames: []string{"\x82\x7f\x00\x00\x00\x00\x01\x00\x00\x01"}, want: ws.StatusMessageTooBig},
		{name: "default limit across fragments", frames: []string{
			wireFrame(0x02, make([]byte, 1<<20)),
			"\x00\x7f\x00\x00\x00\x00\x00\xf0\x00\x01", // 15 MiB + 1 more announced
		}, want: ws.StatusMessageTooBig},
		{name: "Config.ReadLimit", cfg: ws.Config{ReadLimit: 1000}, frames: []string{wireFrame(0x82, make([]byte, 1001))}, want: ws.StatusMessageTooBig},
		{name: "Config.ReadLimit across fragments", cfg: ws.Config{ReadLimit: 100}, frames: []string{
			wireFrame(0x01, textOfSize(60)), wireFrame(0x80, textOfSize(41)),
		}, want: ws.StatusMessageTooBig},
		{name: "SetReadLimit", setup: readLimit(10), frames: []string{"\x81\x0bhello world"}, want: ws.StatusMessageTooBig},
		{name: "SetReadLimit across fragments", setup: readLimit(10), frames: []string{"\x01\x06hello ", "\x00\x04worl", "\x80\x01d"}, want: ws.StatusMessageTooBig},
		// Zero is the documented default, never "no limit".
		{name: "SetReadLimit(0) is the default", setup: readLimit(0), frames: []string{"\x82\x7f\x00\x00\x00\x00\x01\x00\x00\x01"}, want: ws.StatusMessageTooBig},
		{name: "MaxFragments", cfg: ws.Config{MaxFragments: 3}, frames: []string{"\x01\x01a", "\x00\x01b", "\x00\x01c", "\x80\x01d"}, want: ws.StatusPolicyViolation},
	}
	// §5.2: opcodes 3–7 and 0xB–0xF are reserved.
	for _, op := range []byte{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		tests = append(tests, failCase{
			name:   fmt.Sprintf("reserved opcode %#x", op),
			frames: []string{string([]byte{0x80 | op, 0})},
			want:   ws.StatusProtocolError,
		})
	}
	// §7.4.1, §7.4.2: codes that may not appear in a close frame.
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		tests = append(tests, failCase{
			name:   fmt.Sprintf("close code %d", code),
			frames: []string{"\x88\x02" + closePayload(code, "")},
			want:   ws.StatusProtocolError,
		})
	}
	return tests
}

func readLimit(n int64) func(*ws.Conn) {
	return func(c *ws.Conn) { c.SetReadLimit(n) }
}

// TestReadFailsConnection feeds a Conn frames that break RFC 6455 and
// checks the close frame it answers with (§7.1.7), the end of the
// connection after it, and the error Read returns.
func TestReadFailsConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range failCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, peer := pipe(t, &ws.ConnOptions{Config: tc.cfg, Client: tc.client})
				if tc.setup != nil {
					tc.setup(c)
				}
				msgs := readLoop(t, c)
				// The Conn may stop reading as soon as it has seen the
				// violation, and a pipe's write waits for the reader, so
				// the frames are written on the side and may fail.
				sent := make(chan struct{})
				go func() {
					defer close(sent)
					for _, f := range tc.frames {
						if !tc.client && !tc.raw {
							f = string(clientFrame(f))
						}
						if _, err := peer.Write([]byte(f)); err != nil {
							return
						}
					}
				}()
				peer.requireClose(t, tc.want)
				<-sent
				m := recv(t, msgs)
				var pe *frame.ProtocolError
				require.ErrorAs(t, m.err, &pe)
				assert.Equal(t, tc.want, pe.Code)
				// The failure is sticky.
				_, _, err := c.Read(t.Context())
				assert.Equal(t, m.err, err)
			})
		})
	}
}

// TestReadFailsConnectionTCP repeats some of the cases above over a real
// connection after Accept, where the Conn half-closes and waits for the
// peer before closing.
func TestReadFailsConnectionTCP(t *testing.T) {
	checkGoroutines(t)
	srv, errs := serve(t, &ws.AcceptOptions{Config: ws.Config{ReadLimit: 1 << 10}}, func(ctx context.Context, c *ws.Conn) error {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return err
			}
		}
	})
	tests := []struct {
		name  string
		frame []byte
		want  ws.StatusCode
	}{
		{"unmasked", []byte("\x81\x05hello"), ws.StatusProtocolError},
		{"reserved opcode", clientFrame("\x83\x00"), ws.StatusProtocolError},
		{"invalid UTF-8", clientFrame("\x81\x01\xff"), ws.StatusInvalidPayload},
		{"too big", clientFrame("\x82\x7e\x04\x01"), ws.StatusMessageTooBig},
		{"close code 1006", clientFrame("\x88\x02" + closePayload(1006, "")), ws.StatusProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			peer := rawDial(t, srv)
			// A valid message first: the failure must not depend on
			// being the first frame.
			peer.send(t, clientFrame("\x81\x02ok"), tc.frame)
			peer.requireClose(t, tc.want)
			peer.Close() // ends the server's wait for our side to close
			var pe *frame.ProtocolError
			require.ErrorAs(t, recv(t, errs), &pe)
			assert.Equal(t, tc.want, pe.Code)
		})
	}
}

// TestReadFailFast checks that invalid UTF-8 fails the connection as soon
// as the bad byte arrives (RFC 6455 §8.1), not when the message ends: the
// peer reads the close frame without ever sending the last fragment.
func TestReadFailFast(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		msgs := readLoop(t, c)
		peer.send(t,
			clientFrame("\x01\x07hello \xce"), // ends inside "κ": still valid so far
			clientFrame("\x00\x03\xba\xff!"),  // completes "κ", then a byte UTF-8 never has
		)
		// The third fragment, "\x80\x05world", is never sent: if the Conn
		// waited for it, this read would deadlock the bubble.
		peer.requireClose(t, ws.StatusInvalidPayload)
		assert.Equal(t, ws.StatusInvalidPayload, closeCode(recv(t, msgs).err))
	})
}

// closeCode returns the close code a Read error carries: the peer's code
// from a *ws.CloseError, or the code sent for a *frame.ProtocolError.
func closeCode(err error) ws.StatusCode {
	var pe *frame.ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ws.CloseStatus(err)
}

// TestReadFragments checks text split inside characters across frames,
// and control frames between the fragments, read back whole.
func TestReadFragments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		frames []string
		typ    ws.MessageType
		want   string
	}{
		{"one frame", []string{"\x81\x05hello"}, ws.MessageText, "hello"},
		{"empty text", []string{"\x81\x00"}, ws.MessageText, ""},
		{"empty fragments", []string{"\x01\x00", "\x00\x00", "\x80\x00"}, ws.MessageText, ""},
		// §5.4 and §8.1: a character may be split across fragments.
		{"character split across fragments", []string{"\x01\x01\xce", "\x80\x01\xba"}, ws.MessageText, "κ"},
		{"character in three fragments", []string{"\x01\x01\xe2", "\x00\x01\x82", "\x80\x01\xac"}, ws.MessageText, "€"},
		{"binary in fragments", []string{"\x02\x03\x00\x01\x02", "\x00\x00", "\x80\x02\x03\x04"}, ws.MessageBinary, "\x00\x01\x02\x03\x04"},
		// §5.5: control frames may come between fragments.
		{"pong between fragments", []string{"\x01\x03hel", "\x8a\x01x", "\x80\x02lo"}, ws.MessageText, "hello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, peer := pipe(t, nil)
				msgs := readLoop(t, c)
				for _, f := range tc.frames {
					peer.send(t, clientFrame(f))
				}
				m := recv(t, msgs)
				require.NoError(t, m.err)
				assert.Equal(t, tc.typ, m.typ)
				assert.Equal(t, tc.want, string(m.p))
			})
		})
	}
}

// TestReaderStreams reads a fragmented message through Reader with short
// reads, and checks that Reader skips what a caller left unread.
func TestReaderStreams(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		want := textOfSize(3000)
		done := make(chan error, 1)
		go func() {
			for _, f := range []string{wireFrame(0x01, want[:1000]), wireFrame(0x00, want[1000:2001]), wireFrame(0x80, want[2001:])} {
				if _, err := peer.Write(clientFrame(f)); err != nil {
					done <- err
					return
				}
			}
			_, err := peer.Write(clientFrame("\x82\x03abc"))
			if err == nil {
				_, err = peer.Write(clientFrame("\x81\x03def"))
			}
			done <- err
		}()
		typ, r, err := c.Reader(t.Context())
		require.NoError(t, err)
		assert.Equal(t, ws.MessageText, typ)
		var got []byte
		buf := make([]byte, 7) // odd-sized reads cut frames and characters
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		assert.Equal(t, want, got)

		// Read only part of the next message; the one after must follow.
		typ, r, err = c.Reader(t.Context())
		require.NoError(t, err)
		assert.Equal(t, ws.MessageBinary, typ)
		n, err := r.Read(buf[:1])
		require.NoError(t, err)
		assert.Equal(t, "a", string(buf[:n]))
		typ, p, err := c.Read(t.Context())
		require.NoError(t, err)
		assert.Equal(t, ws.MessageText, typ)
		assert.Equal(t, "def", string(p))
		n, err = r.Read(buf)
		assert.Equal(t, 0, n)
		assert.Equal(t, io.EOF, err, "a reader whose message was skipped")
		require.NoError(t, <-done)
	})
}

// TestReaderWriteTo copies messages with io.Copy, which goes through the
// reader's WriteTo: the whole payload, or what is left of it after a
// Read, arrives, and a failing destination stops the copy with its error.
func TestReaderWriteTo(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		want := textOfSize(100 << 10) // several of WriteTo's buffers
		go func() {
			peer.Write(clientFrame(wireFrame(0x82, want)))
			peer.Write(clientFrame(wireFrame(0x82, want)))
			peer.Write(clientFrame(wireFrame(0x82, want)))
		}()
		_, r, err := c.Reader(t.Context())
		require.NoError(t, err)
		var got bytes.Buffer
		n, err := io.Copy(&got, r)
		require.NoError(t, err)
		assert.Equal(t, int64(len(want)), n)
		assert.Equal(t, want, got.Bytes())

		_, r, err = c.Reader(t.Context())
		require.NoError(t, err)
		head := make([]byte, 10)
		_, err = io.ReadFull(r, head)
		require.NoError(t, err)
		got.Reset()
		_, err = io.Copy(&got, r)
		require.NoError(t, err)
		assert.Equal(t, want, append(head, got.Bytes()...))

		_, r, err = c.Reader(t.Context())
		require.NoError(t, err)
		errFull := errors.New("destination full")
		n, err = io.Copy(failingWriter{errFull}, r)
		assert.ErrorIs(t, err, errFull)
		assert.Zero(t, n)
	})
}

// TestRelayOneFrame relays messages from one Conn to another with
// io.Copy: a message under 32 KiB leaves as one frame, a larger one in
// pieces of about 32 KiB, and writes after the copy still join the
// message.
func TestRelayOneFrame(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		size   int
		suffix string
		frames int // 0: any number
	}{
		{16, "", 1},
		{16 << 10, "", 1},
		{32<<10 - 1, "", 1},
		{100 << 10, "", 4},
		{16 << 10, "and a suffix", 0},
	} {
		t.Run(fmt.Sprintf("%d%s", tc.size, tc.suffix), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				in, inPeer := pipe(t, nil)
				out, outPeer := pipe(t, nil)
				frames := outPeer.frames(t)
				want := textOfSize(tc.size)
				go inPeer.Write(clientFrame(wireFrame(0x81, want)))

				typ, r, err := in.Reader(t.Context())
				require.NoError(t, err)
				w, err := out.Writer(t.Context(), typ)
				require.NoError(t, err)
				_, err = io.Copy(w, r)
				require.NoError(t, err)
				if tc.suffix != "" {
					_, err = io.WriteString(w, tc.suffix)
					require.NoError(t, err)
				}
				require.NoError(t, w.Close())

				var got []byte
				n := 0
				for f := range frames {
					require.NoError(t, f.err)
					got = append(got, f.payload...)
					n++
					if f.fin {
						break
					}
				}
				assert.True(t, bytes.Equal(append(want, tc.suffix...), got), "relayed message differs")
				if tc.frames > 0 {
					assert.Equal(t, tc.frames, n, "frames")
				}
			})
		})
	}
}

// failingWriter fails every write with its error.
type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// TestReadAbnormalClosure checks a connection that ends without a close
// frame: between frames, or inside one (a reset mid-frame). Read reports
// StatusAbnormalClosure (RFC 6455 §7.1.5, §7.4.1: 1006 is never sent).
func TestReadAbnormalClosure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sent    string
		wantErr error
	}{
		{"between frames", "\x82\x02hi", io.EOF},
		{"inside a header", "\x82", io.ErrUnexpectedEOF},
		{"inside a payload", "\x82\x7e\x01\x00" + strings.Repeat("x", 100), io.ErrUnexpectedEOF},
		{"inside a control frame", "\x89\x05he", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, peer := pipe(t, nil)
				msgs := readLoop(t, c)
				peer.send(t, clientFrame(tc.sent))
				peer.Close()
				m := recv(t, msgs)
				if m.err == nil {
					m = recv(t, msgs) // the complete message before the end
				}
				var ce *ws.CloseError
				require.ErrorAs(t, m.err, &ce)
				assert.Equal(t, ws.StatusAbnormalClosure, ce.Code)
				assert.ErrorIs(t, m.err, tc.wantErr)
			})
		})
	}
}

// TestReadResetMidFrameTCP is the reset mid-frame over a real connection:
// Read reports 1006 and nothing is left running.
func TestReadResetMidFrameTCP(t *testing.T) {
	checkGoroutines(t)
	srv, errs := serve(t, nil, func(ctx context.Context, c *ws.Conn) error {
		_, _, err := c.Read(ctx)
		return err
	})
	peer := rawDial(t, srv)
	// Half of a 256-byte frame, then the connection goes.
	peer.send(t, clientFrame("\x82\x7e\x01\x00"+strings.Repeat("x", 128)))
	require.NoError(t, peer.Close())
	err := recv(t, errs)
	var ce *ws.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ws.StatusAbnormalClosure, ce.Code)
	assert.Equal(t, ws.StatusAbnormalClosure, ws.CloseStatus(err))
}

// TestReaderReturnsNoInvalidText checks that a streaming Reader hands out
// none of a text message's bytes in the read that finds them invalid, so
// an io.Copy of the message passes nothing of the bad text on.
func TestReaderReturnsNoInvalidText(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c, peer := pipe(t, nil)
		got := make(chan []byte, 1)
		errs := make(chan error, 1)
		go func() {
			_, r, err := c.Reader(context.Background())
			if err != nil {
				errs <- err
				return
			}
			p, err := io.ReadAll(r)
			got <- p
			errs <- err
		}()
		peer.send(t, clientFrame("\x81\x0cHello-\xed\xa0\x80-wor")) // a surrogate: never UTF-8
		peer.requireClose(t, ws.StatusInvalidPayload)
		assert.Equal(t, ws.StatusInvalidPayload, closeCode(recv(t, errs)))
		assert.Empty(t, recv(t, got), "the read that finds invalid text returns none of it")
	})
}
