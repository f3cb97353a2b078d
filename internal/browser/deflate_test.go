//go:build linux

package browser_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/wirecount"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deflatePage is the page of TestDeflate; the test drives it with
// Runtime.evaluate and deflateScript.
const deflatePage = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>permessage-deflate</title>
<p>permessage-deflate between Chromium and package ws</p></html>`

// deflateScript defines window.deflate in the page:
//
//	open(url)       opens the WebSocket; resolves with its extensions
//	                property once open. Every message it receives is
//	                echoed at once, with its type, and its summary kept.
//	received()      resolves with the summaries of the messages received
//	send(cases)     builds a message for each case in the page, sends
//	                them all, and resolves with their summaries
//
// A summary is {type, length, sha256} of the message's bytes (UTF-8 for
// text), as messageSummary computes in Go. A case is {type, size,
// compressible}: compressible messages repeat deflateFill, the others are
// random bytes, mapped to printable ASCII for text.
const deflateScript = `window.deflate = (() => {
	const fill = ` + "`" + deflateFill + "`" + `;
	const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
	const summary = async (type, bytes) => ({
		type, length: bytes.byteLength, sha256: hex(await crypto.subtle.digest('SHA-256', bytes)),
	});
	const summaries = [];
	let sock;
	return {
		open(url) {
			return new Promise((resolve, reject) => {
				sock = new WebSocket(url);
				sock.binaryType = 'arraybuffer';
				sock.onmessage = (e) => {
					sock.send(e.data);
					summaries.push(typeof e.data === 'string'
						? summary('text', new TextEncoder().encode(e.data))
						: summary('binary', e.data));
				};
				sock.onopen = () => resolve(sock.extensions);
				sock.onclose = (e) => reject(new Error('closed before open: ' + e.code));
			});
		},
		received() { return Promise.all(summaries); },
		async send(cases) {
			const out = [];
			for (const c of cases) {
				let bytes;
				if (c.compressible) {
					bytes = new TextEncoder().encode(fill.repeat(Math.ceil(c.size / fill.length)).slice(0, c.size));
				} else {
					bytes = new Uint8Array(c.size);
					for (let i = 0; i < c.size; i += 65536) {
						crypto.getRandomValues(bytes.subarray(i, i + 65536));
					}
					if (c.type === 'text') bytes = bytes.map((b) => 0x20 + b % 95);
				}
				sock.send(c.type === 'text' ? new TextDecoder().decode(bytes) : bytes);
				out.push(await summary(c.type, bytes));
			}
			return out;
		},
	};
})(); true`

// deflateFill is what compressible messages repeat.
const deflateFill = "permessage-deflate in Chromium, "

// deflateCase is a message for TestDeflate to exchange.
type deflateCase struct {
	Type         string `json:"type"` // "text" or "binary"
	Size         int    `json:"size"`
	Compressible bool   `json:"compressible"`
}

func (c deflateCase) String() string {
	kind := "random"
	if c.Compressible {
		kind = "compressible"
	}
	return fmt.Sprintf("%s %s %d", kind, c.Type, c.Size)
}

// deflateCases: one under our compression threshold, then bigger ones, of
// both types, compressible and not.
func deflateCases() []deflateCase {
	var cases []deflateCase
	for _, size := range []int{10, 1 << 10, 64 << 10, 1 << 20} {
		for _, typ := range []string{"text", "binary"} {
			for _, compressible := range []bool{true, false} {
				cases = append(cases, deflateCase{typ, size, compressible})
			}
		}
	}
	return cases
}

// message builds the case's payload in Go, with random bytes from seed.
func (c deflateCase) message(seed uint64) (ws.MessageType, []byte) {
	typ := ws.MessageBinary
	if c.Type == "text" {
		typ = ws.MessageText
	}
	if c.Compressible {
		return typ, bytes.Repeat([]byte(deflateFill), c.Size/len(deflateFill)+1)[:c.Size]
	}
	p := make([]byte, c.Size)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(p)
	if typ == ws.MessageText {
		for i, b := range p {
			p[i] = ' ' + b%95
		}
	}
	return typ, p
}

// messageSummary is a message as deflateScript summarizes it.
type messageSummary struct {
	Type   string `json:"type"`
	Length int    `json:"length"`
	SHA256 string `json:"sha256"`
}

func summarize(typ ws.MessageType, p []byte) messageSummary {
	sum := sha256.Sum256(p)
	return messageSummary{Type: typ.String(), Length: len(p), SHA256: hex.EncodeToString(sum[:])}
}

// TestDeflate has Chromium negotiate permessage-deflate (RFC 7692) with a
// server on ws.Accept in each of our compression modes, and exchange
// messages both ways: ours, which the page checks and echoes, and the
// page's own, which we check.
func TestDeflate(t *testing.T) {
	requireChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	client := startBrowser(ctx, t, t.TempDir())

	const (
		pmd           = "permessage-deflate"
		pmdNoTakeover = pmd + "; server_no_context_takeover; client_no_context_takeover"
	)
	for _, mode := range []struct {
		compression ws.CompressionMode
		// response is the server's Sec-WebSocket-Extensions answer, as
		// the page's WebSocket reports it in its extensions property.
		response string
	}{
		// Our server asks both ends to keep no context (§7.1.1).
		{ws.CompressionNoContextTakeover, pmdNoTakeover},
		// Chromium offers client_max_window_bits without a value: it
		// could narrow its window. Our server need not answer it
		// (§7.1.2.2), and does not.
		{ws.CompressionContextTakeover, pmd},
		{ws.CompressionDisabled, ""},
	} {
		t.Run(strings.ReplaceAll(mode.compression.String(), " ", "-"), func(t *testing.T) {
			type accepted struct {
				c     *ws.Conn
				wire  *wirecount.Conn
				offer string
			}
			conns := make(chan accepted, 1)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write([]byte(deflatePage))
			})
			mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
				c, err := ws.Accept(w, r, &ws.AcceptOptions{Config: ws.Config{
					Compression: mode.compression,
					ReadLimit:   4 << 20,
				}})
				if err != nil {
					t.Errorf("Accept: %v", err)
					return
				}
				select {
				case conns <- accepted{c, wirecount.FromRequest(r), r.Header.Get("Sec-WebSocket-Extensions")}:
				default:
					c.CloseNow()
					t.Error("a second WebSocket connection")
				}
			})
			srv := wirecount.NewServer(mux)
			t.Cleanup(srv.Close)

			p := openPage(ctx, t, client, "deflate", srv.URL+"/", viewport{Width: 800, Height: 600, Scale: 1})
			p.eval(ctx, deflateScript)
			exts := p.eval(ctx, `deflate.open(`+jsString("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws")+`)`)
			var a accepted
			select {
			case a = <-conns:
			case <-ctx.Done():
				t.Fatal("the page's WebSocket never reached the handler")
			}
			c := a.c
			t.Cleanup(func() { c.CloseNow() })
			t.Logf("Chromium offered %q; the page's extensions are %q", a.offer, exts)
			assert.Contains(t, a.offer, pmd, "Chromium offers permessage-deflate")
			assert.Equal(t, mode.response, exts, "the page's WebSocket extensions")
			assert.Equal(t, mode.response != "", c.Compressed(), "Compressed on our server")

			// Ours to the page, which echoes each one back: the echo
			// must be byte-exact, and the page's summary must match.
			var want []messageSummary
			for k, tc := range deflateCases() {
				typ, msg := tc.message(uint64(k))
				want = append(want, summarize(typ, msg))
				in, out := a.wire.In(), a.wire.Out()
				require.NoError(t, c.Write(ctx, typ, msg), "%v", tc)
				gotType, got, err := c.Read(ctx)
				require.NoError(t, err, "%v", tc)
				assert.Equal(t, typ, gotType, "%v: echo's type", tc)
				if !bytes.Equal(msg, got) {
					i := 0
					for i < len(msg) && i < len(got) && msg[i] == got[i] {
						i++
					}
					t.Errorf("%v: the echo differs: %d bytes, want %d; first difference at byte %d", tc, len(got), len(msg), i)
				}
				// A compressible message over our threshold must shrink
				// both ways when the extension is on, and cannot when it
				// is off.
				if tc.Compressible && tc.Size >= ws.DefaultCompressionThreshold {
					sent, received := a.wire.Out()-out, a.wire.In()-in
					if c.Compressed() {
						assert.Less(t, sent, int64(tc.Size/2), "%v: bytes we sent", tc)
						assert.Less(t, received, int64(tc.Size/2), "%v: bytes Chromium sent", tc)
					} else {
						assert.GreaterOrEqual(t, sent, int64(tc.Size), "%v: bytes we sent", tc)
						assert.GreaterOrEqual(t, received, int64(tc.Size), "%v: bytes Chromium sent", tc)
					}
				}
			}
			var received []messageSummary
			decode(t, p.eval(ctx, `deflate.received()`), &received)
			assert.Equal(t, want, received, "the messages as the page received them")

			// The page's own messages to us.
			cases, err := json.Marshal(deflateCases())
			require.NoError(t, err)
			var sent []messageSummary
			decode(t, p.eval(ctx, `deflate.send(`+string(cases)+`)`), &sent)
			require.Len(t, sent, len(deflateCases()))
			for k, tc := range deflateCases() {
				typ, got, err := c.Read(ctx)
				require.NoError(t, err, "%v", tc)
				assert.Equal(t, sent[k], summarize(typ, got), "%v from the page", tc)
			}

			require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
		})
	}
}

// decode turns a value that eval returned back into JSON and decodes it
// into v.
func decode(t *testing.T, value any, v any) {
	t.Helper()
	b, err := json.Marshal(value)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), "%s", b)
}
