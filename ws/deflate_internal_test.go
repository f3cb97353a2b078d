package ws

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/handshake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseExt(t *testing.T, v string) []handshake.Extension {
	t.Helper()
	exts, err := handshake.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {v}})
	require.NoError(t, err)
	return exts
}

func TestAcceptDeflate(t *testing.T) {
	tests := []struct {
		name   string
		mode   CompressionMode
		offer  string
		ok     bool
		resp   string
		params deflateParams
	}{
		{"plain offer, default mode", CompressionNoContextTakeover, "permessage-deflate", true,
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover", deflateParams{}},
		{"plain offer, takeover mode", CompressionContextTakeover, "permessage-deflate", true,
			"permessage-deflate", deflateParams{outTakeover: true, inTakeover: true}},
		{"client asks server not to keep context", CompressionContextTakeover, "permessage-deflate; server_no_context_takeover", true,
			"permessage-deflate; server_no_context_takeover", deflateParams{inTakeover: true}},
		{"client will not keep context", CompressionContextTakeover, "permessage-deflate; client_no_context_takeover", true,
			"permessage-deflate; client_no_context_takeover", deflateParams{outTakeover: true}},
		{"client_max_window_bits without value (browsers)", CompressionContextTakeover, "permessage-deflate; client_max_window_bits", true,
			"permessage-deflate", deflateParams{outTakeover: true, inTakeover: true}},
		{"client_max_window_bits=10", CompressionContextTakeover, "permessage-deflate; client_max_window_bits=10", true,
			"permessage-deflate", deflateParams{outTakeover: true, inTakeover: true}},
		{"server_max_window_bits=15 is what we use anyway", CompressionContextTakeover, "permessage-deflate; server_max_window_bits=15", true,
			"permessage-deflate; server_max_window_bits=15", deflateParams{outTakeover: true, inTakeover: true, outWindow: 15}},
		// compress/flate always compresses with a 32 KiB window, so a
		// narrower one means Huffman coding alone, and no context to keep.
		{"server window below 15", CompressionContextTakeover, "permessage-deflate; server_max_window_bits=10", true,
			"permessage-deflate; server_max_window_bits=10", deflateParams{inTakeover: true, outWindow: 10}},
		{"server window of 8 bits", CompressionNoContextTakeover, "permessage-deflate; server_max_window_bits=8; client_max_window_bits", true,
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8", deflateParams{outWindow: 8}},
		{"declined offer falls back to the next", CompressionContextTakeover,
			"permessage-deflate; server_max_window_bits=7, permessage-deflate", true, "permessage-deflate", deflateParams{outTakeover: true, inTakeover: true}},
		{"server_max_window_bits without value", CompressionContextTakeover, "permessage-deflate; server_max_window_bits", false, "", deflateParams{}},
		{"window bits out of range", CompressionContextTakeover, "permessage-deflate; client_max_window_bits=16", false, "", deflateParams{}},
		{"window bits 7", CompressionContextTakeover, "permessage-deflate; client_max_window_bits=7", false, "", deflateParams{}},
		{"window bits with leading zero", CompressionContextTakeover, "permessage-deflate; client_max_window_bits=09", false, "", deflateParams{}},
		{"duplicate parameter", CompressionContextTakeover, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", false, "", deflateParams{}},
		{"unknown parameter", CompressionContextTakeover, "permessage-deflate; foo", false, "", deflateParams{}},
		{"flag with value", CompressionContextTakeover, "permessage-deflate; client_no_context_takeover=1", false, "", deflateParams{}},
		{"other extension only", CompressionContextTakeover, "x-webkit-deflate-frame", false, "", deflateParams{}},
		{"disabled", CompressionDisabled, "permessage-deflate", false, "", deflateParams{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, params, ok := acceptDeflate(tc.mode, parseExt(t, tc.offer))
			require.Equal(t, tc.ok, ok)
			if !ok {
				return
			}
			assert.Equal(t, tc.resp, resp.String())
			assert.Equal(t, tc.params, params)
			// The server reads its own response the same way, and the
			// client reads the mirror image of it.
			got, found, err := agreedDeflate([]handshake.Extension{resp}, false)
			require.NoError(t, err)
			require.True(t, found)
			assert.Equal(t, tc.params, got)
			got, _, err = agreedDeflate([]handshake.Extension{resp}, true)
			require.NoError(t, err)
			assert.Equal(t, tc.params.inTakeover, got.outTakeover)
			assert.Equal(t, !strings.Contains(tc.resp, "server_no_context_takeover"), got.inTakeover)
		})
	}
}

func TestAgreedDeflateClientRejects(t *testing.T) {
	for _, resp := range []string{
		"permessage-deflate; client_max_window_bits", // a response names the window
		"permessage-deflate; client_max_window_bits=16",
		"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
		"permessage-deflate; server_max_window_bits",
		"permessage-deflate; server_max_window_bits=16",
		"permessage-deflate; foo=bar",
		"permessage-deflate, permessage-deflate",
		"permessage-deflate; client_no_context_takeover=yes",
	} {
		t.Run(resp, func(t *testing.T) {
			_, _, err := agreedDeflate(parseExt(t, resp), true)
			assert.Error(t, err)
		})
	}
	params, found, err := agreedDeflate(parseExt(t, "permessage-deflate; server_max_window_bits=10"), true)
	require.NoError(t, err)
	assert.True(t, found, "a narrower server window is fine for our 32 KiB decompressor")
	assert.Equal(t, deflateParams{outTakeover: true, inTakeover: true}, params)

	// A narrower window for the client's own compressor means Huffman
	// coding alone: no back-references, so no context to keep.
	params, _, err = agreedDeflate(parseExt(t, "permessage-deflate; client_max_window_bits=9"), true)
	require.NoError(t, err)
	assert.Equal(t, deflateParams{inTakeover: true, outWindow: 9}, params)
}

func TestDeflateOffer(t *testing.T) {
	assert.Equal(t, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits",
		handshake.FormatExtensions(deflateOffer(CompressionNoContextTakeover)))
	assert.Equal(t, "permessage-deflate; client_max_window_bits", handshake.FormatExtensions(deflateOffer(CompressionContextTakeover)))
	assert.Empty(t, deflateOffer(CompressionDisabled))
}

// payloads returns random and repetitive messages of many sizes.
func payloads() [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	var out [][]byte
	for _, n := range []int{0, 1, 16, 125, 126, 1000, 4096, 65536, 131072, 1 << 20} {
		rnd := make([]byte, n)
		for i := range rnd {
			rnd[i] = byte(r.Uint32())
		}
		out = append(out, rnd, bytes.Repeat([]byte("chat message "), n/13+1)[:n])
	}
	return out
}

func TestDeflateRoundTrip(t *testing.T) {
	for _, takeover := range []bool{false, true} {
		t.Run(map[bool]string{false: "no context takeover", true: "context takeover"}[takeover], func(t *testing.T) {
			d := deflater{level: flate.BestSpeed, takeover: takeover}
			in := inflater{takeover: takeover}
			for _, p := range payloads() {
				z := d.compress(p)
				assert.False(t, bytes.HasSuffix(z, deflateTail) && len(p) > 0, "the tail is stripped (RFC 7692 §7.2.1)")
				got, err := in.inflateAll(nil, bytes.Clone(z), 0)
				require.NoError(t, err)
				require.Equal(t, len(p), len(got))
				require.True(t, bytes.Equal(p, got))

				// Streaming decompression, in odd-sized reads, agrees.
				in2 := inflater{takeover: false}
				if !takeover {
					in2.start(bytes.NewReader(z))
					var out []byte
					buf := make([]byte, 7)
					for {
						n, err := in2.read(buf)
						out = append(out, buf[:n]...)
						if err == io.EOF {
							break
						}
						require.NoError(t, err)
					}
					require.True(t, bytes.Equal(p, out))
				}
			}
		})
	}
}

func TestContextTakeoverShrinksRepeats(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike")
	var sb strings.Builder
	for range 150 {
		sb.WriteString(words[r.IntN(len(words))])
		sb.WriteByte(' ')
	}
	msg := []byte(sb.String())
	plain := deflater{level: flate.BestSpeed}
	kept := deflater{level: 2, takeover: true} // BestSpeed never refers back across flushes
	in := inflater{takeover: true}
	var sizes []int
	for range 3 {
		z := kept.compress(msg)
		sizes = append(sizes, len(z))
		got, err := in.inflateAll(nil, bytes.Clone(z), 0)
		require.NoError(t, err)
		require.Equal(t, msg, got)
	}
	assert.Less(t, sizes[1], sizes[0]/4, "the second copy refers back to the first")
	assert.Equal(t, len(plain.compress(msg)), len(plain.compress(msg)), "without takeover each message stands alone")
}

func TestInflateBombStopsAtLimit(t *testing.T) {
	d := deflater{level: flate.BestCompression}
	bomb := bytes.Clone(d.compress(make([]byte, 8<<20)))
	require.Less(t, len(bomb), 64<<10, "8 MiB of zeros compresses to little")
	in := inflater{}
	_, err := in.inflateAll(make([]byte, 0, 512), bomb, 1<<20)
	require.ErrorIs(t, err, frame.ErrMessageTooBig)
	var pe *frame.ProtocolError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, frame.CloseMessageTooBig, pe.Code)
}

func TestInflateCorrupt(t *testing.T) {
	in := inflater{}
	// 0xff starts a block of the reserved type 3 (RFC 1951 §3.2.3).
	_, err := in.inflateAll(nil, []byte{0xff, 0xff, 0xff}, 0)
	var pe *frame.ProtocolError
	require.True(t, errors.As(err, &pe), "got %v", err)
	assert.Equal(t, frame.CloseInvalidPayload, pe.Code)
}

func TestInflateAllocations(t *testing.T) {
	d := deflater{level: flate.BestSpeed}
	msg := bytes.Repeat([]byte("hello websocket "), 64)
	z := bytes.Clone(d.compress(msg))
	in := inflater{}
	dst := make([]byte, 0, 2*len(msg))
	_, err := in.inflateAll(dst, z, 0) // warm the pool
	require.NoError(t, err)
	// Under -race sync.Pool drops a share of what it is given, so a few
	// allocations remain; what matters is that none grows with the data.
	limit := 0.0
	if raceEnabled {
		limit = 8
	}
	allocs := testing.AllocsPerRun(100, func() {
		in.inflateAll(dst[:0], z, 0)
	})
	assert.LessOrEqual(t, allocs, limit)
	allocs = testing.AllocsPerRun(100, func() { d.compress(msg) })
	assert.LessOrEqual(t, allocs, limit)
}
