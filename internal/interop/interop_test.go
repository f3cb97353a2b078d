package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/wirecount"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	// readLimit is set on both ends, well above the largest message.
	readLimit = 64 << 20
	// testTimeout bounds each test case. The Node client gives up on a
	// command after its own default of 20 s, so its error arrives first.
	testTimeout = 30 * time.Second
	// burstCount is how many messages a burst writes before reading any.
	burstCount = 1000
)

// peerMode is one way of configuring both ends for permessage-deflate
// (RFC 7692); every test runs once per mode, in both directions. A mode
// says what each direction's handshake must agree, and every connection
// checks it on both ends.
type peerMode struct {
	name string
	// node is the scripts' --per-message-deflate flag: off, on (ws's
	// defaults) or a JSON object of ws's perMessageDeflate options.
	node string
	// compression and threshold are our end's Config.Compression and
	// Config.CompressionThreshold.
	compression ws.CompressionMode
	threshold   int
	// goClient is the Sec-WebSocket-Extensions response server.js must
	// give our client's offer, and nodeClient the one our server must give
	// client.js's; "" means that the connection is not compressed.
	goClient, nodeClient string
	// nodeThreshold0 says that ws compresses messages of any size. By
	// default it sends messages under 1 KiB uncompressed, but only when it
	// keeps no context: with context takeover it compresses them all.
	nodeThreshold0 bool
	// variant marks a mode that varies ws's parameters around another;
	// it echoes messages up to 1 MiB, not 16 MiB, since deflating 16 MiB
	// each way costs seconds and the parameters do not depend on size.
	variant bool
}

// maxEcho is the largest message the mode's echo cases send: 16 MiB, but
// 1 MiB in variant modes, and under the race detector in every mode that
// compresses, where deflating 16 MiB each way takes ten seconds or more.
func (m peerMode) maxEcho() int {
	compresses := m.goClient != "" || m.nodeClient != ""
	if m.variant || raceEnabled && compresses {
		return 1 << 20
	}
	return 16 << 20
}

const (
	pmd           = "permessage-deflate"
	pmdNoTakeover = pmd + "; server_no_context_takeover; client_no_context_takeover"
)

var peerModes = []peerMode{
	// Node without the extension: it neither offers it nor answers our
	// offer.
	{name: "plain", node: "off"},
	// We neither offer nor accept; ws offers and accepts by default.
	{name: "ours-disabled", node: "on", compression: ws.CompressionDisabled},
	// Both on by default. Our server asks both ends not to keep context
	// (RFC 7692 §7.1.1); our client offers that, and ws agrees.
	{name: "deflate", node: "on", goClient: pmdNoTakeover, nodeClient: pmdNoTakeover},
	// Context takeover both ways. ws's client offers
	// client_max_window_bits without a value (§7.1.2.2), which our
	// server need not answer.
	{name: "takeover", node: "on", compression: ws.CompressionContextTakeover, goClient: pmd, nodeClient: pmd},
	// ws asks that the server keep no context: one end keeps it and the
	// other does not, the other way round in each direction.
	{
		name: "node-server-no-takeover", node: `{"serverNoContextTakeover":true}`, compression: ws.CompressionContextTakeover, variant: true,
		goClient: pmd + "; server_no_context_takeover", nodeClient: pmd + "; server_no_context_takeover",
	},
	{
		name: "node-client-no-takeover", node: `{"clientNoContextTakeover":true}`, compression: ws.CompressionContextTakeover, variant: true,
		goClient: pmd + "; client_no_context_takeover", nodeClient: pmd + "; client_no_context_takeover",
	},
	// ws limits the server's window to 1 KiB. As a server it may say so
	// unasked (§7.1.2.1), and our client's 32 KiB window reads that; as a
	// client it offers it, which our server accepts and then compresses
	// with Huffman coding alone, since compress/flate cannot narrow its
	// window.
	{
		name: "node-server-window-bits", node: `{"serverMaxWindowBits":10}`, compression: ws.CompressionContextTakeover, variant: true,
		goClient: pmd + "; server_max_window_bits=10", nodeClient: pmd + "; server_max_window_bits=10",
	},
	// ws limits the client's window to 1 KiB. As a server it requires
	// client_max_window_bits in the offer, which ours has, and answers
	// with the limit, so our client compresses with Huffman coding alone;
	// as a client it offers client_max_window_bits=10, which our server
	// accepts without echoing it (§7.1.2.2).
	{
		name: "node-client-window-bits", node: `{"clientMaxWindowBits":10}`, compression: ws.CompressionContextTakeover, variant: true,
		goClient: pmd + "; client_max_window_bits=10", nodeClient: pmd,
	},
	// Every message compressed both ways, the small and the empty ones
	// too.
	{
		name: "threshold-0", node: `{"threshold":0}`, threshold: -1, variant: true,
		goClient: pmdNoTakeover, nodeClient: pmdNoTakeover, nodeThreshold0: true,
	},
}

// nodeArgs returns the flags of server.js and client.js for the mode.
func (m peerMode) nodeArgs() []string {
	return []string{"--per-message-deflate=" + m.node}
}

// config returns the Go end's settings for the mode.
func (m peerMode) config() ws.Config {
	return ws.Config{ReadLimit: readLimit, Compression: m.compression, CompressionThreshold: m.threshold}
}

// goOffer is the Sec-WebSocket-Extensions header our client sends.
func (m peerMode) goOffer() string {
	switch m.compression {
	case ws.CompressionNoContextTakeover:
		return pmdNoTakeover + "; client_max_window_bits"
	case ws.CompressionContextTakeover:
		return pmd + "; client_max_window_bits"
	}
	return ""
}

// smallCompressed says which ends compress the wire/small messages on a
// connection that agreed response: ours when its threshold is negative,
// and ws when its threshold is 0 or its end, nodeEnd ("server" or
// "client"), keeps context (see nodeThreshold0).
func (m peerMode) smallCompressed(response, nodeEnd string) (ours, node bool) {
	if response == "" {
		return false, false
	}
	nodeTakeover := !strings.Contains(response, nodeEnd+"_no_context_takeover")
	return m.threshold < 0, m.nodeThreshold0 || nodeTakeover
}

// extensionNames is what ws's extensions property says for an agreed
// response: the names of the extensions in use.
func extensionNames(response string) string {
	if response == "" {
		return ""
	}
	return pmd
}

// compressible returns n bytes of fill repeated, as client.js builds a
// message with "fill".
func compressible(n int) []byte {
	return bytes.Repeat([]byte(wireFill), n/len(wireFill)+1)[:n]
}

// wireFill is what the wire cases repeat: deflate shrinks it to almost
// nothing.
const wireFill = "interop deflate "

const (
	// wireLarge is the size of the wire/large message.
	wireLarge = 1 << 20
	// wireSmall and wireSmallCount are the size and number of the
	// wire/small messages: under both ends' default thresholds. Under
	// 128 bytes compress/flate's BestSpeed codes with Huffman codes only,
	// which saves a third or so of them.
	wireSmall      = 120
	wireSmallCount = 500
)

// assertWire checks the bytes that crossed a connection carrying payload
// bytes of compressible messages each way: under three quarters of it in
// a direction where they were compressed, and at least payload where not.
// The counts include the handshake and frame headers.
func assertWire(t *testing.T, payload int, sentCompressed, receivedCompressed bool, sent, received int64) {
	t.Helper()
	for _, n := range []struct {
		dir        string
		compressed bool
		bytes      int64
	}{{"sent", sentCompressed, sent}, {"received", receivedCompressed, received}} {
		if n.compressed {
			assert.Less(t, n.bytes, int64(payload*3/4), "bytes %s on the wire for %d bytes of compressed messages", n.dir, payload)
		} else {
			assert.GreaterOrEqual(t, n.bytes, int64(payload), "bytes %s on the wire for %d bytes of uncompressed messages", n.dir, payload)
		}
	}
}

// echoCase is a message to echo: every length boundary of RFC 6455 §5.2
// (7-bit, 16-bit and 64-bit lengths), then bigger messages, of both types.
type echoCase struct {
	name string
	typ  ws.MessageType
	size int
}

// echoCases returns the cases up to limit bytes.
func echoCases(limit int) []echoCase {
	var cases []echoCase
	for _, typ := range []ws.MessageType{ws.MessageText, ws.MessageBinary} {
		for _, size := range []int{0, 125, 126, 127, 65535, 64 << 10, 1 << 20, 16 << 20} {
			if size > limit {
				continue
			}
			cases = append(cases, echoCase{fmt.Sprintf("%s/%d", typ, size), typ, size})
		}
	}
	return cases
}

// longText has multi-byte characters at every alignment, so that the
// boundaries of buffers and fragments fall inside some of them.
var longText = "a" + strings.Repeat("€😀ü", 30000)

// fragmentedText is the text the mode sends in 7-byte fragments: all of
// longText, or a tenth of it in variant modes and under the race detector,
// where ws compressing some 38,000 fragments one by one takes longer than
// a case may.
func (m peerMode) fragmentedText() string {
	if m.variant || raceEnabled {
		return longText[:1+9*3000]
	}
	return longText
}

// unicodeTexts are text messages of multi-byte UTF-8.
var unicodeTexts = []struct{ name, text string }{
	{"latin", "héllo wörld, ça va? ñ ß ø"},
	{"cjk", "日本語のテキスト、中文文本、한국어 텍스트"},
	{"emoji", "emoji 🎉👍🏽👩‍👩‍👧‍👦🇺🇳"},
	{"astral", "𝄞 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 \U0010FFFD"},
	{"long", longText},
}

// TestGoClientNodeServer runs ws.Dial against node/server.js.
func TestGoClientNodeServer(t *testing.T) {
	requireNode(t)
	for _, mode := range peerModes {
		t.Run(mode.name, func(t *testing.T) {
			// Modes run side by side: some cases wait on ws more than
			// they compute.
			t.Parallel()
			srv := startNodeServer(t, mode)
			// burst writes msgs, message k of type typeOf(k), before
			// reading any, checks that they come back unchanged and that
			// server.js received exactly msgs before our close, and
			// returns the connection's byte counts.
			burst := func(t *testing.T, typeOf func(k int) ws.MessageType, msgs [][]byte) *wirecount.Conn {
				ctx := testContext(t)
				c, id, wire := srv.dialCounted(t, ctx, mode.config())
				var sent transcript
				for k, msg := range msgs {
					sent.add(typeOf(k), msg)
					require.NoError(t, c.Write(ctx, typeOf(k), msg), "message %d", k)
				}
				for k, msg := range msgs {
					typ, got, err := c.Read(ctx)
					require.NoError(t, err, "message %d", k)
					if !assertMessage(t, typeOf(k), msg, typ, got) {
						t.Fatalf("message %d of %d differs", k, len(msgs))
					}
				}
				require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
				srv.assertClosed(t, ctx, id, ws.StatusNormalClosure, "", &sent)
				return wire
			}

			// echo sends msg, checks that it comes back unchanged, and
			// that server.js received exactly msg before our close.
			echo := func(t *testing.T, typ ws.MessageType, msg []byte) {
				burst(t, func(int) ws.MessageType { return typ }, [][]byte{msg})
			}

			for _, tc := range echoCases(mode.maxEcho()) {
				t.Run("echo/"+tc.name, func(t *testing.T) {
					t.Parallel()
					echo(t, tc.typ, payload(tc.typ, tc.size, 0))
				})
			}

			for _, tc := range unicodeTexts {
				t.Run("unicode/"+tc.name, func(t *testing.T) {
					t.Parallel()
					echo(t, ws.MessageText, []byte(tc.text))
				})
			}

			t.Run("burst", func(t *testing.T) {
				t.Parallel()
				msgs := make([][]byte, burstCount)
				for k := range msgs {
					msgs[k] = payload(burstType(k), k%300, uint64(k))
				}
				burst(t, burstType, msgs)
			})

			t.Run("fragmented", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				// Fragments of at most 100 bytes split multi-byte
				// characters across frames; ws must join them.
				cfg := mode.config()
				cfg.WriteBufferSize = 100
				c, id := srv.dialWith(t, ctx, cfg)
				msg := []byte(longText)
				w, err := c.Writer(ctx, ws.MessageText)
				require.NoError(t, err)
				for chunk := range slices.Chunk(msg, 333) {
					_, err := w.Write(chunk)
					require.NoError(t, err)
				}
				require.NoError(t, w.Close())
				var sent transcript
				sent.add(ws.MessageText, msg)
				typ, got, err := c.Read(ctx)
				require.NoError(t, err)
				assertMessage(t, ws.MessageText, msg, typ, got)
				require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
				srv.assertClosed(t, ctx, id, ws.StatusNormalClosure, "", &sent)
			})

			t.Run("read-limit", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				cfg := mode.config()
				cfg.ReadLimit = 1024
				c, id := srv.dialWith(t, ctx, cfg)
				msg := payload(ws.MessageBinary, 1025, 0)
				var sent transcript
				sent.add(ws.MessageBinary, msg)
				require.NoError(t, c.Write(ctx, ws.MessageBinary, msg))
				_, _, err := c.Read(ctx)
				require.Error(t, err, "the echo is over the read limit")
				// RFC 6455 §7.4.1: 1009 is for a message too big to process.
				ev := srv.closeEvent(t, ctx, id)
				assert.Equal(t, int(ws.StatusMessageTooBig), ev.Code)
				assert.Equal(t, sent.summary(), summary{ev.Count, ev.Digest})
			})

			t.Run("ping", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				c, id := srv.dial(t, ctx)
				readErr := readUntilError(t, ctx, c)
				require.NoError(t, c.Ping(ctx), "ws answers pings by itself")
				assert.Positive(t, c.RTT())
				require.NoError(t, c.Close(ws.StatusNormalClosure, ""))
				assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(readErr()))
				srv.assertClosed(t, ctx, id, ws.StatusNormalClosure, "", &transcript{})
			})

			t.Run("close/by-go", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				c, id := srv.dial(t, ctx)
				require.NoError(t, c.Close(4000, "bye"))
				srv.assertClosed(t, ctx, id, 4000, "bye", &transcript{})
			})

			t.Run("close/by-node", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				c, id := srv.dial(t, ctx)
				cmd := []byte("close:4001:reason")
				var sent transcript
				sent.add(ws.MessageText, cmd)
				require.NoError(t, c.Write(ctx, ws.MessageText, cmd))
				_, _, err := c.Read(ctx)
				var ce *ws.CloseError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, ws.StatusCode(4001), ce.Code)
				assert.Equal(t, "reason", ce.Reason)
				// Our close frame echoes the code (RFC 6455 §5.5.1).
				ev := srv.closeEvent(t, ctx, id)
				assert.Equal(t, 4001, ev.Code)
				assert.Equal(t, sent.summary(), summary{ev.Count, ev.Digest})
			})

			// The wire cases check that compressed connections really
			// compress, each way, and that the others do not. The counts
			// include both close frames, a few bytes.
			t.Run("wire/large", func(t *testing.T) {
				t.Parallel()
				wire := burst(t, burstType, [][]byte{compressible(wireLarge)})
				on := mode.goClient != ""
				assertWire(t, wireLarge, on, on, wire.Out(), wire.In())
			})

			t.Run("wire/small", func(t *testing.T) {
				t.Parallel()
				msgs := slices.Repeat([][]byte{compressible(wireSmall)}, wireSmallCount)
				wire := burst(t, burstType, msgs)
				ours, node := mode.smallCompressed(mode.goClient, "server")
				assertWire(t, wireSmall*wireSmallCount, ours, node, wire.Out(), wire.In())
			})
		})
	}
}

// TestNodeClientGoServer runs node/client.js against ws.Accept.
func TestNodeClientGoServer(t *testing.T) {
	requireNode(t)
	for _, mode := range peerModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel() // as in TestGoClientNodeServer
			srv := startGoServer(t, mode)
			cl := startNodeClient(t, mode)

			// echo has the Node client send messages that the Go server
			// echoes, and checks both directions: client.js compares the
			// echoes with what it sent, and the Go server's transcript
			// must match client.js's.
			echo := func(t *testing.T, cmd clientCmd) serverReport {
				ctx := testContext(t)
				cmd.ID = newID()
				cmd.Op = "echo"
				cmd.URL = srv.url("/echo", cmd.ID, nil)
				res := cl.run(t, ctx, cmd)
				require.True(t, res.OK, "client.js: %s", res.Error)
				rep := srv.report(t, ctx, cmd.ID)
				require.NotNil(t, res.Sent)
				assert.Equal(t, *res.Sent, rep.received)
				assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(rep.err), "server read: %v", rep.err)
				assert.Equal(t, peerClose{Code: 1000}, *res.Close)
				return rep
			}

			for _, tc := range echoCases(mode.maxEcho()) {
				t.Run("echo/"+tc.name, func(t *testing.T) {
					t.Parallel()
					echo(t, clientCmd{Type: tc.typ.String(), Size: tc.size})
				})
			}

			for _, tc := range unicodeTexts {
				t.Run("unicode/"+tc.name, func(t *testing.T) {
					t.Parallel()
					echo(t, clientCmd{Type: "text", Text: tc.text})
				})
			}

			t.Run("burst", func(t *testing.T) {
				t.Parallel()
				echo(t, clientCmd{Type: "mixed", Size: 64, Count: burstCount})
			})

			t.Run("fragmented/text", func(t *testing.T) {
				t.Parallel()
				// 7-byte frames split multi-byte characters across
				// frames; the Go side must join them before checking
				// UTF-8.
				echo(t, clientCmd{Type: "text", Text: mode.fragmentedText(), Fragment: 7})
			})

			t.Run("fragmented/binary", func(t *testing.T) {
				t.Parallel()
				echo(t, clientCmd{Type: "binary", Size: 64 << 10, Fragment: 1000})
			})

			t.Run("read-limit", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				id := newID()
				q := url.Values{"limit": {"1024"}}
				res := cl.run(t, ctx, clientCmd{ID: id, Op: "await-close", URL: srv.url("/echo", id, q), Type: "binary", Size: 1025, Count: 1})
				require.True(t, res.OK, "client.js: %s", res.Error)
				rep := srv.report(t, ctx, id)
				assert.Error(t, rep.err, "the message is over the read limit")
				// RFC 6455 §7.4.1: 1009 is for a message too big to process.
				assert.Equal(t, int(ws.StatusMessageTooBig), res.Close.Code)
				assert.Zero(t, res.Messages)
			})

			t.Run("invalid-utf8", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				id := newID()
				res := cl.run(t, ctx, clientCmd{ID: id, Op: "await-close", URL: srv.url("/echo", id, nil), Type: "text", Data: []byte("ok \xff"), Count: 1})
				require.True(t, res.OK, "client.js: %s", res.Error)
				rep := srv.report(t, ctx, id)
				assert.Error(t, rep.err, "the text is not UTF-8")
				// RFC 6455 §8.1: invalid UTF-8 fails the connection with 1007.
				assert.Equal(t, int(ws.StatusInvalidPayload), res.Close.Code)
				assert.Zero(t, res.Messages)
			})

			t.Run("ping/by-node", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				id := newID()
				res := cl.run(t, ctx, clientCmd{ID: id, Op: "ping", URL: srv.url("/echo", id, nil), Payload: "node ping " + id})
				require.True(t, res.OK, "client.js: %s", res.Error)
				rep := srv.report(t, ctx, id)
				assert.Equal(t, ws.StatusNormalClosure, ws.CloseStatus(rep.err), "server read: %v", rep.err)
			})

			t.Run("ping/by-go", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				id := newID()
				res := cl.run(t, ctx, clientCmd{ID: id, Op: "await-close", URL: srv.url("/ping", id, nil)})
				require.True(t, res.OK, "client.js: %s", res.Error)
				rep := srv.report(t, ctx, id)
				assert.NoError(t, rep.pingErr, "Ping")
				assert.NoError(t, rep.closeErr, "Close")
				assert.Equal(t, 1, res.Pings)
				assert.Equal(t, peerClose{Code: 1000, Reason: "pinged"}, *res.Close)
			})

			t.Run("close/by-node", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				id := newID()
				res := cl.run(t, ctx, clientCmd{ID: id, Op: "close", URL: srv.url("/echo", id, nil), Code: 4002, Reason: "done"})
				require.True(t, res.OK, "client.js: %s", res.Error)
				rep := srv.report(t, ctx, id)
				var ce *ws.CloseError
				if assert.ErrorAs(t, rep.err, &ce) {
					assert.Equal(t, ws.StatusCode(4002), ce.Code)
					assert.Equal(t, "done", ce.Reason)
				}
				// Our close frame echoes the code (RFC 6455 §5.5.1).
				assert.Equal(t, 4002, res.Close.Code)
			})

			t.Run("close/by-go", func(t *testing.T) {
				t.Parallel()
				ctx := testContext(t)
				id := newID()
				q := url.Values{"code": {"4003"}, "reason": {"server bye"}}
				res := cl.run(t, ctx, clientCmd{ID: id, Op: "await-close", URL: srv.url("/close", id, q)})
				require.True(t, res.OK, "client.js: %s", res.Error)
				rep := srv.report(t, ctx, id)
				assert.NoError(t, rep.closeErr, "Close")
				assert.Equal(t, peerClose{Code: 4003, Reason: "server bye"}, *res.Close)
				assert.Zero(t, res.Messages)
			})

			// The wire cases check that compressed connections really
			// compress, each way, and that the others do not.
			t.Run("wire/large", func(t *testing.T) {
				t.Parallel()
				rep := echo(t, clientCmd{Type: "text", Size: wireLarge, Fill: wireFill})
				on := mode.nodeClient != ""
				assertWire(t, wireLarge, on, on, rep.wireOut, rep.wireIn)
			})

			t.Run("wire/small", func(t *testing.T) {
				t.Parallel()
				rep := echo(t, clientCmd{Type: "mixed", Size: wireSmall, Fill: wireFill, Count: wireSmallCount})
				ours, node := mode.smallCompressed(mode.nodeClient, "client")
				assertWire(t, wireSmall*wireSmallCount, ours, node, rep.wireOut, rep.wireIn)
			})
		})
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

var lastID atomic.Int64

// newID returns a connection id, unique within the test binary, that ties
// the lines a script prints to the test that caused them.
func newID() string { return strconv.FormatInt(lastID.Add(1), 10) }

// payload returns n bytes that depend on seed: printable ASCII for text,
// any bytes for binary.
func payload(typ ws.MessageType, n int, seed uint64) []byte {
	p := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(typ)}).Read(p)
	if typ == ws.MessageText {
		for i, b := range p {
			p[i] = ' ' + b%95
		}
	}
	return p
}

// burstType alternates text and binary within a burst.
func burstType(k int) ws.MessageType {
	if k%2 == 0 {
		return ws.MessageText
	}
	return ws.MessageBinary
}

// assertMessage checks a received message against the one sent, without
// printing megabytes when they differ.
func assertMessage(t *testing.T, wantType ws.MessageType, want []byte, gotType ws.MessageType, got []byte) bool {
	t.Helper()
	ok := assert.Equal(t, wantType, gotType, "message type")
	if !bytes.Equal(want, got) {
		i := 0
		for i < len(want) && i < len(got) && want[i] == got[i] {
			i++
		}
		ok = assert.Fail(t, "payload differs", "got %d bytes, want %d; first difference at byte %d", len(got), len(want), i)
	}
	return ok
}

// readUntilError reads c in a goroutine, as Ping and Close need, until Read
// fails; the returned function waits for that and returns the error. The
// goroutine ends by the test's end, since c is closed then.
func readUntilError(t *testing.T, ctx context.Context, c *ws.Conn) func() error {
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		for err == nil {
			_, _, err = c.Read(ctx)
		}
	}()
	t.Cleanup(func() {
		c.CloseNow()
		<-done
	})
	return func() error {
		<-done
		return err
	}
}

// transcript hashes messages as Transcript in node/common.js does:
// SHA-256 over "t" or "b", the decimal length, ":" and the payload of each
// message in order.
type transcript struct {
	h     hash.Hash
	count int
}

func (tr *transcript) add(typ ws.MessageType, p []byte) {
	if tr.h == nil {
		tr.h = sha256.New()
	}
	kind := "t"
	if typ == ws.MessageBinary {
		kind = "b"
	}
	io.WriteString(tr.h, kind+strconv.Itoa(len(p))+":")
	tr.h.Write(p)
	tr.count++
}

func (tr *transcript) summary() summary {
	if tr.h == nil {
		tr.h = sha256.New()
	}
	return summary{Count: tr.count, Digest: hex.EncodeToString(tr.h.Sum(nil))}
}

// nodeServer is a running node/server.js.
type nodeServer struct {
	*nodePeer
	mode peerMode
	port string
}

func startNodeServer(t *testing.T, mode peerMode) *nodeServer {
	p := startNode(t, "server.js", mode.nodeArgs()...)
	if _, err := strconv.ParseUint(p.first, 10, 16); err != nil {
		t.Fatalf("server.js printed %q, not a port", p.first)
	}
	return &nodeServer{nodePeer: p, mode: mode, port: p.first}
}

// dial connects to the server under a new connection id. The connection
// is closed when the test ends.
func (s *nodeServer) dial(t *testing.T, ctx context.Context) (*ws.Conn, string) {
	t.Helper()
	return s.dialWith(t, ctx, s.mode.config())
}

// dialWith is dial with cfg instead of the mode's settings; cfg keeps the
// mode's compression.
func (s *nodeServer) dialWith(t *testing.T, ctx context.Context, cfg ws.Config) (*ws.Conn, string) {
	t.Helper()
	c, id, _ := s.dialCounted(t, ctx, cfg)
	return c, id
}

// dialCounted is dialWith that also returns the connection's byte
// counts. It checks that the handshake agreed what the mode says
// (RFC 7692 §5): the response header, and Compressed.
func (s *nodeServer) dialCounted(t *testing.T, ctx context.Context, cfg ws.Config) (*ws.Conn, string, *wirecount.Conn) {
	t.Helper()
	id := newID()
	u := "ws://127.0.0.1:" + s.port + "/?id=" + id
	var wire *wirecount.Conn
	c, resp, err := ws.Dial(ctx, u, &ws.DialOptions{
		Config:         cfg,
		NetDialContext: wirecount.Dialer(func(c *wirecount.Conn) { wire = c }),
	})
	require.NoError(t, err)
	t.Cleanup(func() { c.CloseNow() })
	assert.Equal(t, s.mode.goClient, resp.Header.Get("Sec-WebSocket-Extensions"), "server.js's answer to our offer")
	assert.Equal(t, s.mode.goClient != "", c.Compressed(), "Compressed")
	return c, id, wire
}

// closeEvent waits for the server to report that connection id closed.
// Errors reported on the way fail the test.
func (s *nodeServer) closeEvent(t *testing.T, ctx context.Context, id string) peerEvent {
	t.Helper()
	for {
		ev, err := s.next(ctx, id)
		require.NoError(t, err)
		switch ev.Event {
		case "close":
			assert.Equal(t, s.mode.goOffer(), ev.Offer, "our offer, as server.js got it")
			assert.Equal(t, extensionNames(s.mode.goClient), ev.Extensions, "extensions in use, as server.js says")
			return ev
		case "error":
			t.Errorf("server.js: connection %s: %s", id, ev.Message)
		default:
			t.Errorf("server.js: unexpected event %+v", ev)
		}
	}
}

// assertClosed checks that the server saw connection id close with code
// and reason after receiving exactly the messages in sent.
func (s *nodeServer) assertClosed(t *testing.T, ctx context.Context, id string, code ws.StatusCode, reason string, sent *transcript) {
	t.Helper()
	ev := s.closeEvent(t, ctx, id)
	assert.Equal(t, peerClose{Code: int(code), Reason: reason}, peerClose{Code: ev.Code, Reason: ev.Reason}, "close seen by server.js")
	assert.Equal(t, sent.summary(), summary{ev.Count, ev.Digest}, "messages seen by server.js")
}

// clientCmd is a command for node/client.js; the script documents them.
type clientCmd struct {
	ID       string `json:"id"`
	Op       string `json:"op"`
	URL      string `json:"url"`
	Type     string `json:"type,omitempty"`
	Size     int    `json:"size"`
	Count    int    `json:"count,omitempty"`
	Text     string `json:"text,omitempty"`
	Data     []byte `json:"data,omitempty"` // base64 in JSON
	Fill     string `json:"fill,omitempty"`
	Fragment int    `json:"fragment,omitempty"`
	Payload  string `json:"payload,omitempty"`
	Code     int    `json:"code,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// nodeClient is a running node/client.js.
type nodeClient struct {
	*nodePeer
	mode peerMode
}

func startNodeClient(t *testing.T, mode peerMode) *nodeClient {
	p := startNode(t, "client.js", mode.nodeArgs()...)
	if p.first != `{"event":"ready"}` {
		t.Fatalf("client.js printed %q, want it ready", p.first)
	}
	return &nodeClient{p, mode}
}

// run sends cmd and waits for its result. A result that has no close event
// fails the test unless the command failed. It checks that the handshake
// agreed what the mode says (RFC 7692 §5), as client.js saw it.
func (c *nodeClient) run(t *testing.T, ctx context.Context, cmd clientCmd) peerEvent {
	t.Helper()
	require.NoError(t, c.send(cmd))
	res, err := c.next(ctx, cmd.ID)
	require.NoError(t, err)
	if res.OK {
		require.NotNil(t, res.Close, "client.js reported no close: %+v", res)
		assert.Equal(t, c.mode.nodeClient, res.Response, "our server's answer to client.js's offer")
		assert.Equal(t, extensionNames(c.mode.nodeClient), res.Extensions, "extensions in use, as client.js says")
	}
	return res
}

// goServer is a Go WebSocket server on wirecount.NewServer. Each
// connection's behaviour is chosen by the URL path, and its outcome is
// reported under the ?id= query parameter:
//
//	/echo   echoes every message until Read fails; ?limit= sets ReadLimit
//	/ping   pings the client while reading, then closes with 1000 "pinged"
//	/close  closes with ?code= and ?reason= at once
type goServer struct {
	srv  *httptest.Server
	mode peerMode
	ctx  context.Context // cancelled when the test ends
	wg   sync.WaitGroup  // running handlers

	mu      sync.Mutex
	reports map[string]chan serverReport
}

// serverReport is how one connection to a goServer went.
type serverReport struct {
	received summary // the messages read
	err      error   // what ended the read loop, or Accept's error
	pingErr  error
	closeErr error

	accepted        bool  // Accept returned a Conn
	compressed      bool  // its Compressed
	wireIn, wireOut int64 // bytes that crossed the connection, handshake included
}

func startGoServer(t *testing.T, mode peerMode) *goServer {
	ctx, cancel := context.WithCancel(context.Background())
	s := &goServer{mode: mode, ctx: ctx, reports: make(map[string]chan serverReport)}
	s.srv = wirecount.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.srv.Close()
		cancel()
		s.wg.Wait()
	})
	return s
}

// url returns the WebSocket URL of path for connection id, with query q.
func (s *goServer) url(path, id string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("id", id)
	return "ws" + strings.TrimPrefix(s.srv.URL, "http") + path + "?" + q.Encode()
}

func (s *goServer) mailbox(id string) chan serverReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	box, ok := s.reports[id]
	if !ok {
		box = make(chan serverReport, 1)
		s.reports[id] = box
	}
	return box
}

// report waits for the outcome of connection id.
func (s *goServer) report(t *testing.T, ctx context.Context, id string) serverReport {
	t.Helper()
	select {
	case rep := <-s.mailbox(id):
		if rep.accepted {
			assert.Equal(t, s.mode.nodeClient != "", rep.compressed, "Compressed on our server")
		}
		return rep
	case <-ctx.Done():
		t.Fatalf("no report from the Go server on connection %s: %v", id, ctx.Err())
		return serverReport{}
	}
}

func (s *goServer) serve(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	q := r.URL.Query()
	var rep serverReport
	defer func() {
		select {
		case s.mailbox(q.Get("id")) <- rep:
		default: // a second connection under one id; the test sees the first
		}
	}()
	cfg := s.mode.config()
	if limit := q.Get("limit"); limit != "" {
		n, err := strconv.ParseInt(limit, 10, 64)
		if err != nil {
			rep.err = fmt.Errorf("bad limit: %w", err)
			http.Error(w, rep.err.Error(), http.StatusBadRequest)
			return
		}
		cfg.ReadLimit = n
	}
	c, err := ws.Accept(w, r, &ws.AcceptOptions{Config: cfg})
	if err != nil {
		rep.err = err
		return
	}
	defer c.CloseNow()
	defer context.AfterFunc(s.ctx, func() { c.CloseNow() })()
	defer func() {
		rep.accepted, rep.compressed = true, c.Compressed()
		wire := wirecount.FromRequest(r)
		rep.wireIn, rep.wireOut = wire.In(), wire.Out()
	}()

	switch r.URL.Path {
	case "/echo":
		rep = s.echo(c)
	case "/ping":
		rep = s.ping(c)
	case "/close":
		code, err := strconv.Atoi(q.Get("code"))
		if err != nil {
			rep.err = fmt.Errorf("bad close code: %w", err)
			return
		}
		rep.closeErr = c.Close(ws.StatusCode(code), q.Get("reason"))
	default:
		rep.err = fmt.Errorf("no behaviour for path %q", r.URL.Path)
	}
}

func (s *goServer) echo(c *ws.Conn) serverReport {
	var tr transcript
	for {
		typ, p, err := c.Read(s.ctx)
		if err != nil {
			return serverReport{received: tr.summary(), err: err}
		}
		tr.add(typ, p)
		if err := c.Write(s.ctx, typ, p); err != nil {
			return serverReport{received: tr.summary(), err: fmt.Errorf("write: %w", err)}
		}
	}
}

func (s *goServer) ping(c *ws.Conn) serverReport {
	var rep serverReport
	readErr := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			_, _, err = c.Read(s.ctx)
		}
		readErr <- err
	}()
	ctx, cancel := context.WithTimeout(s.ctx, testTimeout)
	rep.pingErr = c.Ping(ctx)
	cancel()
	rep.closeErr = c.Close(ws.StatusNormalClosure, "pinged")
	rep.err = <-readErr
	return rep
}
