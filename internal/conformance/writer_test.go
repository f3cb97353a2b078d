package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writerCase has our client send one message through Conn.Writer with a
// small WriteBufferSize; the raw server checks the fragments (section 10,
// client only).
type writerCase struct {
	id, desc string
	bufSize  int
	typ      ws.MessageType
	data     []byte
	// chunk is the size of each Write call; 0 writes data at once.
	chunk int
	// pingPayload, if set, makes the raw server send a ping after the
	// first fragment; the client writes the rest only once the pong has
	// arrived, so the pong must come between fragments (RFC 6455 §5.4).
	pingPayload string
}

func (wc writerCase) String() string { return wc.id + " " + wc.desc }

// Section 10.2 and 10.3.
func writerCases() []writerCase {
	return []writerCase{
		{id: "10.2.1", desc: "text of 1000 bytes in one Write, 64-byte buffer", bufSize: 64, typ: ws.MessageText, data: textPayload(1000)},
		{id: "10.2.2", desc: "binary of 1000 bytes in one Write, 64-byte buffer", bufSize: 64, typ: ws.MessageBinary, data: binaryPayload(1000)},
		{id: "10.2.3", desc: "text of 1000 bytes in Writes of 1 byte, 64-byte buffer", bufSize: 64, typ: ws.MessageText, data: textPayload(1000), chunk: 1},
		{id: "10.2.4", desc: "binary of 256 KiB in one Write, default buffer", typ: ws.MessageBinary, data: binaryPayload(256 << 10)},
		{id: "10.2.5", desc: "empty text message", bufSize: 64, typ: ws.MessageText},
		{id: "10.2.6", desc: "multi-byte text in Writes of 7 bytes, 64-byte buffer: fragments may cut characters", bufSize: 64, typ: ws.MessageText,
			data: []byte(strings.Repeat("κόσμε µ \U0001F600 ", 40)), chunk: 7},
		{id: "10.2.7", desc: "binary of exactly 2 buffers, 64-byte buffer", bufSize: 64, typ: ws.MessageBinary, data: binaryPayload(128)},
		{id: "10.3.1", desc: "binary of 1000 bytes, 64-byte buffer, with a ping answered between fragments", bufSize: 64, typ: ws.MessageBinary,
			data: binaryPayload(1000), pingPayload: "between fragments"},
		{id: "10.3.2", desc: "text of 1000 bytes, 64-byte buffer, with a 125-byte ping answered between fragments", bufSize: 64, typ: ws.MessageText,
			data: textPayload(1000), pingPayload: strings.Repeat("p", 125)},
	}
}

type writerResult struct{ write, read error }

func runWriterCase(t *testing.T, wc writerCase) {
	deadline := time.Now().Add(caseTimeout)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	proceed := make(chan struct{}) // the pong has arrived: write the rest
	done := make(chan writerResult, 1)
	go func() {
		c, _, err := ws.Dial(ctx, "ws://"+ln.Addr().String()+"/"+wc.id, &ws.DialOptions{
			Config: ws.Config{WriteBufferSize: wc.bufSize},
		})
		if err != nil {
			done <- writerResult{write: fmt.Errorf("dial: %w", err)}
			return
		}
		defer c.CloseNow()
		// Control frames are seen only while someone reads.
		readErr := make(chan error, 1)
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					readErr <- err
					return
				}
			}
		}()
		werr := writeMessage(ctx, c, wc, proceed)
		if werr != nil {
			c.CloseNow()
		}
		done <- writerResult{werr, <-readErr}
	}()
	conn, br, _, err := acceptRaw(ln, deadline, "")
	if err != nil {
		cancel()
		<-done
		require.NoError(t, err, "%v: handshake", wc)
	}
	defer conn.Close()

	// Read the message's frames: each masked (readFrame checks), the
	// first with the message's opcode, the rest continuations, FIN on the
	// last only, none over the buffer size unless a write was: then the
	// buffer and the rest of that write go as one fragment.
	bufSize := wc.bufSize
	if bufSize == 0 {
		bufSize = ws.DefaultBufferSize
	}
	maxFragment, minFragments := bufSize, (len(wc.data)+bufSize-1)/bufSize
	if wc.chunk <= 0 || wc.chunk > bufSize {
		maxFragment, minFragments = bufSize+len(wc.data), 1
	}
	var got []byte
	var frames int
	keys := map[[4]byte]bool{}
	pongSeen := wc.pingPayload == ""
	for {
		f, err := readFrame(br, true, false)
		require.NoError(t, err, "%v: frame %d", wc, frames+1)
		if f.Opcode == frame.OpPong {
			assert.Equal(t, wc.pingPayload, string(f.payload), "%v: pong payload", wc)
			assert.False(t, pongSeen, "%v: a second pong", wc)
			pongSeen = true
			close(proceed)
			continue
		}
		frames++
		keys[f.Mask] = true
		wantOp := frame.OpContinuation
		if frames == 1 {
			wantOp = frame.Opcode(wc.typ)
		}
		require.Equal(t, wantOp, f.Opcode, "%v: opcode of fragment %d", wc, frames)
		assert.LessOrEqual(t, len(f.payload), maxFragment, "%v: fragment %d is larger than WriteBufferSize and one write", wc, frames)
		got = append(got, f.payload...)
		if frames == 1 && !f.Fin && wc.pingPayload != "" {
			_, err := conn.Write(ping(wc.pingPayload).appendTo(nil, false))
			require.NoError(t, err)
		}
		if f.Fin {
			break
		}
	}
	assert.True(t, bytes.Equal(wc.data, got), "%v: reassembled message differs (%d bytes, want %d)", wc, len(got), len(wc.data))
	assert.True(t, pongSeen, "%v: no pong between the fragments", wc)
	assert.GreaterOrEqual(t, frames, minFragments, "%v: fragments", wc)
	if frames > 2 {
		assert.Greater(t, len(keys), 1, "%v: every fragment had the same masking key (RFC 6455 §5.3 wants a fresh one per frame)", wc)
	}

	// Close: the client answers and waits for the server to drop TCP.
	_, err = conn.Write(closeFrame(frame.CloseNormal, "").appendTo(nil, false))
	require.NoError(t, err)
	f, err := readFrame(br, true, false)
	if assert.NoError(t, err, "%v: the client's close", wc) && assert.Equal(t, frame.OpClose, f.Opcode, "%v", wc) {
		code, err := checkClosePayload(f.payload)
		assert.NoError(t, err)
		assert.Equal(t, frame.CloseNormal, code, "%v: the client's close code", wc)
	}
	conn.Close()
	select {
	case r := <-done:
		assert.NoError(t, r.write, "%v: writing", wc)
		assert.Equal(t, frame.CloseNormal, ws.CloseStatus(r.read), "%v: the client's read should end with the server's close: %v", wc, r.read)
	case <-time.After(caseTimeout):
		cancel()
		<-done
		t.Errorf("%v: the client did not return", wc)
	}
}

// writeMessage sends wc's message through Conn.Writer, in chunks, pausing
// after the first fragment for the ping if the case has one.
func writeMessage(ctx context.Context, c *ws.Conn, wc writerCase, proceed <-chan struct{}) error {
	w, err := c.Writer(ctx, wc.typ)
	if err != nil {
		return err
	}
	data := wc.data
	chunk := wc.chunk
	if chunk <= 0 {
		chunk = max(len(data), 1)
	}
	if wc.pingPayload != "" {
		// More than one buffer, so the first fragment goes out now.
		first := min(len(data), wc.bufSize+1)
		if _, err := w.Write(data[:first]); err != nil {
			return err
		}
		data = data[first:]
		select {
		case <-proceed:
		case <-ctx.Done():
			return errors.Join(errors.New("no pong seen by the server"), ctx.Err())
		}
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return w.Close()
}
