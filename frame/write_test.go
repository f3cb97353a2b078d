package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ab7c482b/websocket/frame"
)

var _ frame.FrameWriter = (*frame.Writer)(nil)

// writeSizes are the payload sizes every Writer test covers: the length
// boundaries of RFC 6455 §5.2, the default buffer size and 1 MiB.
var writeSizes = []int{0, 1, 125, 126, 4095, 4096, 65535, 65536, 1 << 20}

// writeBufSizes are Writer buffer sizes: the smallest allowed, a small
// one, and the default.
var writeBufSizes = []int{15, 100, 0}

// writeLog records every Write call made on it.
type writeLog struct {
	bytes.Buffer
	maxWrite int
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.maxWrite = max(w.maxWrite, len(p))
	return w.Buffer.Write(p)
}

// splitFrames parses a stream of whole frames into headers and unmasked
// payloads.
func splitFrames(t *testing.T, wire []byte) ([]frame.Header, [][]byte) {
	t.Helper()
	var hs []frame.Header
	var ps [][]byte
	for len(wire) > 0 {
		h, n, err := frame.ParseHeader(wire)
		require.NoError(t, err)
		require.GreaterOrEqual(t, int64(len(wire)-n), h.Length)
		p := bytes.Clone(wire[n : n+int(h.Length)])
		if h.Masked {
			frame.Mask(h.Mask, 0, p)
		}
		hs = append(hs, h)
		ps = append(ps, p)
		wire = wire[n+int(h.Length):]
	}
	return hs, ps
}

// TestWriterServer writes unmasked frames, as a server does, and reads
// them back as a client (RFC 6455 §5.1).
func TestWriterServer(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	for _, bufSize := range writeBufSizes {
		for _, n := range writeSizes {
			t.Run(fmt.Sprintf("buf=%d/len=%d", bufSize, n), func(t *testing.T) {
				payload := randBytes(r, n)
				orig := bytes.Clone(payload)
				var out bytes.Buffer
				var fw frame.Writer
				fw.Reset(&out, false, bufSize)
				require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpBinary}, payload))
				require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("ping")))
				assert.False(t, fw.Broken())
				assert.Equal(t, orig, payload, "caller's payload changed")

				hs, ps := splitFrames(t, out.Bytes())
				require.Len(t, hs, 2)
				assert.Equal(t, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(n)}, hs[0])
				assert.Equal(t, orig, ps[0])
				assert.Equal(t, frame.Header{Fin: true, Opcode: frame.OpPing, Length: 4}, hs[1])

				m := newMessageReader(readerConfig{}, bytes.NewReader(out.Bytes()))
				log, err := drain(m, 4096, nil, nil)
				assert.Equal(t, []string{"begin binary", "end " + summary(orig), "ping ping"}, log)
				assert.ErrorIs(t, err, io.EOF)
			})
		}
	}
}

// TestWriterMasked writes masked frames, as a client does (RFC 6455
// §5.3), and reads them back as a server.
func TestWriterMasked(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	for _, bufSize := range writeBufSizes {
		for _, n := range writeSizes {
			t.Run(fmt.Sprintf("buf=%d/len=%d", bufSize, n), func(t *testing.T) {
				payload := randBytes(r, n)
				orig := bytes.Clone(payload)
				var out writeLog
				var fw frame.Writer
				fw.Reset(&out, true, bufSize)
				require.NoError(t, fw.WriteFrame(frame.Header{Rsv: frame.Rsv1, Opcode: frame.OpBinary}, payload))
				require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpPong}, []byte("pong")))
				require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpContinuation}, payload))
				assert.False(t, fw.Broken())
				// The mask is applied while copying: RFC 6455 §5.3 masks
				// the wire, not the caller's memory.
				assert.Equal(t, orig, payload, "caller's payload changed")
				// Memory stays within the buffer the writer was given.
				limit := bufSize
				if limit == 0 {
					limit = frame.DefaultBufferSize
				}
				assert.LessOrEqual(t, out.maxWrite, limit)

				hs, ps := splitFrames(t, out.Bytes())
				require.Len(t, hs, 3)
				for i, h := range hs {
					assert.True(t, h.Masked, "frame %d", i)
				}
				assert.Equal(t, frame.Rsv1, hs[0].Rsv)
				assert.Equal(t, int64(n), hs[0].Length)
				assert.Equal(t, orig, ps[0])
				assert.Equal(t, "pong", string(ps[1]))
				assert.Equal(t, orig, ps[2])
				assert.NotEqual(t, hs[0].Mask, hs[1].Mask, "a fresh key per frame")
				assert.NotEqual(t, hs[1].Mask, hs[2].Mask, "a fresh key per frame")

				m := newMessageReader(readerConfig{server: true, rsv: frame.Rsv1}, bytes.NewReader(out.Bytes()))
				log, err := drain(m, 4096, nil, nil)
				assert.Equal(t, []string{"begin binary rsv=0x40", "pong pong", "end " + summary(append(orig, orig...))}, log)
				assert.ErrorIs(t, err, io.EOF)
			})
		}
	}
}

// TestWriterKeysDiffer checks that masking keys are not reused: RFC 6455
// §5.3 wants each unpredictable from the ones before.
func TestWriterKeysDiffer(t *testing.T) {
	var out bytes.Buffer
	var fw frame.Writer
	fw.Reset(&out, true, 0)
	for range 200 {
		require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpText}, []byte("x")))
	}
	hs, _ := splitFrames(t, out.Bytes())
	require.Len(t, hs, 200)
	seen := make(map[[4]byte]bool)
	for _, h := range hs {
		assert.False(t, seen[h.Mask], "key %x used twice", h.Mask)
		seen[h.Mask] = true
	}

	// A second writer does not repeat the first one's keys.
	var out2 bytes.Buffer
	var fw2 frame.Writer
	fw2.Reset(&out2, true, 0)
	require.NoError(t, fw2.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpText}, []byte("x")))
	hs2, _ := splitFrames(t, out2.Bytes())
	assert.NotEqual(t, hs[0].Mask, hs2[0].Mask)
}

var errWrite = errors.New("test: write failed")

// failWriter accepts accept bytes in all, then fails every Write.
type failWriter struct {
	out    bytes.Buffer
	accept int
	calls  int
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.calls++
	k := min(len(p), w.accept)
	w.accept -= k
	w.out.Write(p[:k])
	if k < len(p) {
		return k, errWrite
	}
	return k, nil
}

func TestWriterBroken(t *testing.T) {
	tests := []struct {
		name    string
		mask    bool
		bufSize int
		n       int // payload length
		accept  int // bytes the stream takes before failing
		broken  bool
	}{
		{"unmasked buffered fails at once", false, 100, 10, 0, false},
		{"unmasked buffered fails after 3 bytes", false, 100, 10, 3, true},
		{"unmasked vectored fails at once", false, 100, 1000, 0, false},
		{"unmasked vectored fails in header", false, 100, 1000, 1, true},
		{"unmasked vectored fails after header", false, 100, 1000, 4, true},
		{"unmasked vectored fails in payload", false, 100, 1000, 500, true},
		{"masked fails at once", true, 100, 10, 0, false},
		{"masked fails after 5 bytes", true, 100, 10, 5, true},
		{"masked fails on second chunk", true, 100, 1000, 100, true},
		{"masked fails in fourth chunk", true, 100, 1000, 350, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &failWriter{accept: tc.accept}
			var fw frame.Writer
			fw.Reset(w, tc.mask, tc.bufSize)
			payload := bytes.Repeat([]byte("p"), tc.n)
			err := fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpBinary}, payload)
			require.ErrorIs(t, err, errWrite)
			assert.Equal(t, tc.broken, fw.Broken())
			assert.Equal(t, tc.accept, w.out.Len(), "bytes that reached the stream")

			w.accept = 1 << 20 // the stream recovers
			calls := w.calls
			err = fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpText}, []byte("next"))
			if tc.broken {
				// The peer holds a cut frame: nothing more may follow.
				assert.Error(t, err)
				assert.Equal(t, calls, w.calls, "wrote to a broken stream")
				assert.True(t, fw.Broken())

				// Reset makes it usable on a new stream.
				var out bytes.Buffer
				fw.Reset(&out, tc.mask, tc.bufSize)
				assert.False(t, fw.Broken())
				require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpText}, []byte("next")))
				_, ps := splitFrames(t, out.Bytes())
				assert.Equal(t, [][]byte{[]byte("next")}, ps)
				return
			}
			// Nothing was written, so the stream is still in step.
			require.NoError(t, err)
			_, ps := splitFrames(t, w.out.Bytes())
			assert.Equal(t, [][]byte{[]byte("next")}, ps)
		})
	}
}

// recordedFrame is a frame seen by frameRecorder.
type recordedFrame struct {
	fin     bool
	rsv     byte
	op      frame.Opcode
	payload string
}

// frameRecorder is a FrameWriter that keeps what it is given.
type frameRecorder struct {
	frames []recordedFrame
	err    error // returned instead of recording, when set
}

func (r *frameRecorder) WriteFrame(h frame.Header, p []byte) error {
	if r.err != nil {
		return r.err
	}
	r.frames = append(r.frames, recordedFrame{h.Fin, h.Rsv, h.Opcode, string(p)})
	return nil
}

// partsRecorder is a frameRecorder that also takes two-part frames, as
// Writer does.
type partsRecorder struct{ *frameRecorder }

func (r partsRecorder) WriteFrameParts(h frame.Header, a, b []byte) error {
	return r.WriteFrame(h, append(bytes.Clone(a), b...))
}

// TestMessageWriterSplits writes messages in random pieces and checks the
// frames against RFC 6455 §5.4: the first frame carries the opcode (and
// the extension's RSV bits), the rest are continuations, only the last has
// FIN, and no frame is larger than the buffer.
func TestMessageWriterSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(20, 21))
	for _, size := range []int{1, 7, 100, 4096} {
		for _, parts := range []bool{false, true} {
			t.Run(fmt.Sprintf("cap=%d/parts=%v", size, parts), func(t *testing.T) {
				testMessageWriterSplits(t, r, size, parts)
			})
		}
	}
}

func testMessageWriterSplits(t *testing.T, r *rand.Rand, size int, parts bool) {
	for trial := range 30 {
		msg := randBytes(r, r.IntN(20_000))
		if trial == 0 {
			msg = nil
		}
		var rec frameRecorder
		var w frame.FrameWriter = &rec
		if parts {
			w = partsRecorder{&rec}
		}
		var mw frame.MessageWriter
		mw.Reset(w, frame.OpText, frame.Rsv1, make([]byte, min(r.IntN(10), size), size)) // a stale length is ignored
		largest := 0
		// A third of the messages end with CloseWith and a last piece.
		var last []byte
		if trial%3 == 1 {
			cut := len(msg) - r.IntN(len(msg)+1)
			msg, last = msg[:cut:cut], msg[cut:]
			largest = len(last)
		}
		for rest := msg; len(rest) > 0; {
			k := min(len(rest), r.IntN(2*size+10))
			if r.IntN(10) == 0 {
				k = min(len(rest), r.IntN(5*size+1))
			}
			n, err := mw.Write(rest[:k])
			require.NoError(t, err)
			require.Equal(t, k, n)
			largest = max(largest, k)
			rest = rest[k:]
		}
		if trial%3 == 1 {
			require.NoError(t, mw.CloseWith(last))
			msg = append(msg, last...)
		} else {
			require.NoError(t, mw.Close())
		}

		require.NotEmpty(t, rec.frames)
		var got []byte
		for i, f := range rec.frames {
			last := i == len(rec.frames)-1
			// A frame holds at most a buffer, unless a write larger
			// than the buffer overflowed it, or CloseWith ended the
			// message: then the buffer and the rest of that write (as
			// two frames without parts).
			if largest > size || trial%3 == 1 {
				assert.LessOrEqual(t, len(f.payload), size+largest, "frame %d", i)
			} else {
				assert.LessOrEqual(t, len(f.payload), size, "frame %d", i)
			}
			assert.Equal(t, last, f.fin, "FIN on frame %d of %d", i, len(rec.frames))
			if i == 0 {
				assert.Equal(t, frame.OpText, f.op)
				assert.Equal(t, frame.Rsv1, f.rsv)
			} else {
				assert.Equal(t, frame.OpContinuation, f.op, "frame %d", i)
				assert.Zero(t, f.rsv, "frame %d", i)
			}
			got = append(got, f.payload...)
		}
		require.Equal(t, len(msg), len(got))
		assert.True(t, bytes.Equal(msg, got), "reassembled message differs")
	}
}

// TestMessageWriterEndToEnd sends messages through a masking Writer and
// reads them back with a MessageReader in the server role.
func TestMessageWriterEndToEnd(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 23))
	var out bytes.Buffer
	var fw frame.Writer
	fw.Reset(&out, true, 64)
	var want []string
	buf := make([]byte, 0, 50)
	for i := range 20 {
		msg := randBytes(r, r.IntN(1000))
		var mw frame.MessageWriter
		mw.Reset(&fw, frame.OpBinary, 0, buf)
		for rest := msg; len(rest) > 0; {
			k := min(len(rest), r.IntN(120))
			_, err := mw.Write(rest[:k])
			require.NoError(t, err)
			rest = rest[k:]
			if r.IntN(5) == 0 {
				require.NoError(t, mw.Flush())
			}
		}
		require.NoError(t, mw.Close())
		if i%3 == 0 {
			require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpPing}, []byte("between")))
			want = append(want, "begin binary", "end "+summary(msg), "ping between")
			continue
		}
		want = append(want, "begin binary", "end "+summary(msg))
	}
	m := newMessageReader(readerConfig{server: true, maxFrags: 1000}, bytes.NewReader(out.Bytes()))
	log, err := drain(m, 33, nil, nil)
	assert.Equal(t, want, log)
	assert.ErrorIs(t, err, io.EOF)
}

func TestMessageWriterFlush(t *testing.T) {
	var rec frameRecorder
	var mw frame.MessageWriter
	mw.Reset(&rec, frame.OpText, 0, make([]byte, 0, 16))

	_, err := mw.Write([]byte("abc"))
	require.NoError(t, err)
	assert.Empty(t, rec.frames, "buffered until full, flushed or closed")

	require.NoError(t, mw.Flush())
	assert.Equal(t, []recordedFrame{{false, 0, frame.OpText, "abc"}}, rec.frames)

	require.NoError(t, mw.Flush())
	assert.Len(t, rec.frames, 1, "flush with nothing buffered sends nothing")

	_, err = mw.Write([]byte("de"))
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	assert.Equal(t, []recordedFrame{
		{false, 0, frame.OpText, "abc"},
		{true, 0, frame.OpContinuation, "de"},
	}, rec.frames)
}

// TestMessageWriterCloseWith ends a message with its last piece: with
// parts, what was buffered and the piece make one final frame.
func TestMessageWriterCloseWith(t *testing.T) {
	var rec frameRecorder
	var mw frame.MessageWriter
	mw.Reset(partsRecorder{&rec}, frame.OpText, 0, make([]byte, 0, 16))
	_, err := mw.Write([]byte("ab"))
	require.NoError(t, err)
	require.NoError(t, mw.CloseWith([]byte("cdefghijklmnopqrstuvwxyz")))
	assert.Equal(t, []recordedFrame{{true, 0, frame.OpText, "abcdefghijklmnopqrstuvwxyz"}}, rec.frames)
	assert.Error(t, mw.CloseWith([]byte("late")))
	assert.Error(t, mw.Close())
	assert.Len(t, rec.frames, 1)
}

func TestMessageWriterCloseEmpty(t *testing.T) {
	var rec frameRecorder
	var mw frame.MessageWriter
	mw.Reset(&rec, frame.OpBinary, frame.Rsv1, make([]byte, 0, 16))
	require.NoError(t, mw.Close())
	assert.Equal(t, []recordedFrame{{true, frame.Rsv1, frame.OpBinary, ""}}, rec.frames)
}

func TestMessageWriterAfterClose(t *testing.T) {
	var rec frameRecorder
	var mw frame.MessageWriter
	mw.Reset(&rec, frame.OpText, 0, make([]byte, 0, 16))
	_, err := mw.Write([]byte("hi"))
	require.NoError(t, err)
	require.NoError(t, mw.Close())

	n, err := mw.Write([]byte("late"))
	assert.Error(t, err)
	assert.Zero(t, n)
	assert.Error(t, mw.Flush())
	assert.Error(t, mw.Close())
	assert.Equal(t, []recordedFrame{{true, 0, frame.OpText, "hi"}}, rec.frames)
}

func TestMessageWriterZeroCapacity(t *testing.T) {
	var rec frameRecorder
	var mw frame.MessageWriter
	mw.Reset(&rec, frame.OpText, 0, nil)
	for _, p := range []string{"ab", "cde", "", strings1000} {
		n, err := mw.Write([]byte(p))
		require.NoError(t, err)
		assert.Equal(t, len(p), n)
	}
	require.NoError(t, mw.Close())
	assert.Equal(t, []recordedFrame{
		{false, 0, frame.OpText, "ab"},
		{false, 0, frame.OpContinuation, "cde"},
		{false, 0, frame.OpContinuation, strings1000},
		{true, 0, frame.OpContinuation, ""},
	}, rec.frames)
}

var strings1000 = string(bytes.Repeat([]byte("0123456789"), 100))

func TestMessageWriterError(t *testing.T) {
	rec := frameRecorder{err: errWrite}
	var mw frame.MessageWriter
	mw.Reset(&rec, frame.OpText, 0, make([]byte, 0, 4))
	n, err := mw.Write([]byte("0123456789"))
	assert.ErrorIs(t, err, errWrite)
	assert.Less(t, n, 10)
	assert.ErrorIs(t, mw.Close(), errWrite)
}

func TestWriterAllocs(t *testing.T) {
	for _, mask := range []bool{false, true} {
		for _, n := range []int{0, 125, 10_000} {
			t.Run(fmt.Sprintf("mask=%v/len=%d", mask, n), func(t *testing.T) {
				var fw frame.Writer
				fw.Reset(io.Discard, mask, 0)
				payload := make([]byte, n)
				h := frame.Header{Fin: true, Opcode: frame.OpBinary}
				require.NoError(t, fw.WriteFrame(h, payload)) // first use fills the buffer pool
				var failure error
				allocs := testing.AllocsPerRun(100, func() {
					if err := fw.WriteFrame(h, payload); err != nil {
						failure = err
					}
				})
				require.NoError(t, failure)
				require.LessOrEqual(t, allocs, float64(poolSlack))
			})
		}
	}
}

func TestMessageWriterAllocs(t *testing.T) {
	var fw frame.Writer
	fw.Reset(io.Discard, true, 0)
	require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpPing}, nil))
	buf := make([]byte, 0, 1024)
	p := make([]byte, 5000)
	var mw frame.MessageWriter
	var failure error
	allocs := testing.AllocsPerRun(100, func() {
		mw.Reset(&fw, frame.OpText, 0, buf)
		for _, piece := range [][]byte{p[:300], p[300:3000], p[3000:3010]} {
			if _, err := mw.Write(piece); err != nil {
				failure = err
			}
		}
		if err := mw.Flush(); err != nil {
			failure = err
		}
		if _, err := mw.Write(p[:2000]); err != nil {
			failure = err
		}
		if err := mw.Close(); err != nil {
			failure = err
		}
	})
	require.NoError(t, failure)
	require.LessOrEqual(t, allocs, float64(poolSlack))
}

// TestWriterWriteEncoded sends frames encoded once, as for a broadcast,
// and checks it shares WriteFrame's view of a broken stream.
func TestWriterWriteEncoded(t *testing.T) {
	encoded := []byte(encode(false,
		fr{fin: true, op: frame.OpText, payload: "to all"},
		fr{fin: true, op: frame.OpPing, payload: "p"},
	))

	var out bytes.Buffer
	var fw frame.Writer
	fw.Reset(&out, false, 0)
	require.NoError(t, fw.WriteEncoded(encoded))
	require.NoError(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpBinary}, []byte("own")))
	m := newMessageReader(readerConfig{}, bytes.NewReader(out.Bytes()))
	log, err := drain(m, 64, nil, nil)
	assert.Equal(t, []string{"begin text", "end to all", "ping p", "begin binary", "end own"}, log)
	assert.ErrorIs(t, err, io.EOF)

	// Nothing written: still usable.
	w := &failWriter{}
	fw.Reset(w, false, 0)
	require.ErrorIs(t, fw.WriteEncoded(encoded), errWrite)
	assert.False(t, fw.Broken())

	// Part written: broken, for WriteEncoded and WriteFrame alike.
	w = &failWriter{accept: 3}
	fw.Reset(w, false, 0)
	require.ErrorIs(t, fw.WriteEncoded(encoded), errWrite)
	assert.True(t, fw.Broken())
	w.accept = 1 << 20
	assert.Error(t, fw.WriteEncoded(encoded))
	assert.Error(t, fw.WriteFrame(frame.Header{Fin: true, Opcode: frame.OpText}, nil))
	assert.Equal(t, 3, w.out.Len())
}

// countingWriter records each Write as one chunk.
type countingWriter struct{ chunks [][]byte }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.chunks = append(w.chunks, bytes.Clone(p))
	return len(p), nil
}

// TestWriterHeld checks that held frames wait in the buffer and go out,
// in order, in the same write as the next frame written, or on Flush.
func TestWriterHeld(t *testing.T) {
	for _, mask := range []bool{false, true} {
		t.Run(fmt.Sprintf("mask=%v", mask), func(t *testing.T) {
			var out countingWriter
			var fw frame.Writer
			fw.Reset(&out, mask, 0)
			h := frame.Header{Fin: true, Opcode: frame.OpText}
			for i := range 3 {
				require.True(t, fw.Hold(h, []byte(fmt.Sprintf("held %d", i)), nil))
			}
			require.Zero(t, len(out.chunks), "held frames are not written")
			assert.Positive(t, fw.Held())
			require.NoError(t, fw.WriteFrameParts(h, []byte("now"), []byte("!")))
			require.Equal(t, 1, len(out.chunks), "the held frames go out with the next one, in one write")
			assert.Zero(t, fw.Held())

			// A frame too large to hold goes out at once, after those held.
			require.True(t, fw.Hold(h, []byte("small"), nil))
			big := make([]byte, frame.DefaultBufferSize)
			require.False(t, fw.Hold(h, big, nil), "too large to hold")
			require.NoError(t, fw.WriteFrameParts(h, big, nil))
			assert.Zero(t, fw.Held())
			n := len(out.chunks)
			require.True(t, fw.Hold(h, []byte("last"), nil))
			require.Equal(t, n, len(out.chunks))
			require.NoError(t, fw.Flush())
			require.Equal(t, n+1, len(out.chunks))
			require.NoError(t, fw.Flush(), "nothing held: nothing to do")
			require.Equal(t, n+1, len(out.chunks))

			// Read back: every frame whole, in order.
			var mr frame.MessageReader
			mr.Server = mask // a masking writer is a client's
			mr.Reset(bufio.NewReader(bytes.NewReader(bytes.Join(out.chunks, nil))))
			want := []string{"held 0", "held 1", "held 2", "now!", "small", string(make([]byte, frame.DefaultBufferSize)), "last"}
			for _, w := range want {
				_, err := mr.Next()
				require.NoError(t, err)
				got, err := io.ReadAll(&mr)
				require.NoError(t, err)
				assert.Equal(t, w, string(got))
			}
		})
	}
}

// TestWriterHeldFailure checks what a failed write does to held frames,
// whichever call carries them: one that wrote part of them breaks the
// stream, since they were already reported written; one that wrote
// nothing leaves them held and the stream intact, and they go out with
// the next write.
func TestWriterHeldFailure(t *testing.T) {
	h := frame.Header{Fin: true, Opcode: frame.OpBinary}
	encoded := []byte(encode(false, fr{fin: true, op: frame.OpText, payload: "to all"}))
	for _, tc := range []struct {
		name  string
		carry func(fw *frame.Writer) error
	}{
		{"Flush", func(fw *frame.Writer) error { return fw.Flush() }},
		{"WriteFrame", func(fw *frame.Writer) error { return fw.WriteFrame(h, []byte("next")) }},
		{"WriteEncoded", func(fw *frame.Writer) error { return fw.WriteEncoded(encoded) }},
		{"WriteEncoded large", func(fw *frame.Writer) error { return fw.WriteEncoded(make([]byte, frame.DefaultBufferSize)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fw frame.Writer
			w := &failWriter{}
			fw.Reset(w, false, 0)
			require.True(t, fw.Hold(h, []byte("kept"), nil))
			held := fw.Held()
			require.ErrorIs(t, tc.carry(&fw), errWrite)
			assert.False(t, fw.Broken(), "nothing went out")
			assert.Equal(t, held, fw.Held(), "still held")

			w.accept = 1 << 20
			require.NoError(t, fw.Flush())
			assert.Equal(t, encode(false, fr{fin: true, op: frame.OpBinary, payload: "kept"}), w.out.String())

			w.out.Reset()
			w.accept = 3
			require.True(t, fw.Hold(h, []byte("lost"), nil))
			require.ErrorIs(t, tc.carry(&fw), errWrite)
			assert.True(t, fw.Broken(), "part went out")
			assert.Zero(t, fw.Held())
		})
	}
}

// TestWriterHoldEncoded holds frames encoded beforehand between frames
// held by Hold: all go out in order in one write, with WriteEncoded's
// frame or on Flush, and one too large to hold is refused.
func TestWriterHoldEncoded(t *testing.T) {
	encoded := []byte(encode(false, fr{fin: true, op: frame.OpText, payload: "to all"}))
	h := frame.Header{Fin: true, Opcode: frame.OpBinary}
	for _, last := range []string{"WriteEncoded", "Flush"} {
		t.Run(last, func(t *testing.T) {
			var out countingWriter
			var fw frame.Writer
			fw.Reset(&out, false, 0)
			require.True(t, fw.HoldEncoded(encoded))
			require.True(t, fw.Hold(h, []byte("own"), nil))
			require.True(t, fw.HoldEncoded(encoded))
			require.False(t, fw.HoldEncoded(make([]byte, frame.DefaultBufferSize)), "too large to hold")
			require.Empty(t, out.chunks)
			want := string(encoded) + encode(false, fr{fin: true, op: frame.OpBinary, payload: "own"}) + string(encoded)
			if last == "Flush" {
				require.NoError(t, fw.Flush())
			} else {
				require.NoError(t, fw.WriteEncoded(encoded))
				want += string(encoded)
			}
			require.Len(t, out.chunks, 1)
			assert.Equal(t, want, string(out.chunks[0]))
			assert.Zero(t, fw.Held())
		})
	}
}
