package hostile

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/handshake"
	"github.com/stretchr/testify/assert"
)

// headerAttack is a pathological Sec-WebSocket-Extensions or
// Sec-WebSocket-Protocol value of about n bytes.
type headerAttack struct {
	name   string
	header string
	value  func(n int) string
}

func repeatTo(unit string, n int) string { return strings.Repeat(unit, n/len(unit)) }

var headerAttacks = []headerAttack{
	{"extensions of commas", "Sec-WebSocket-Extensions", func(n int) string { return repeatTo(",", n) }},
	{"extensions of semicolons", "Sec-WebSocket-Extensions", func(n int) string { return repeatTo(";", n) }},
	{"extensions of quotes", "Sec-WebSocket-Extensions", func(n int) string { return repeatTo(`"`, n) }},
	{"an unterminated quoted parameter", "Sec-WebSocket-Extensions", func(n int) string { return `x; p="` + repeatTo(`\"`, n) }},
	{"one extension with many parameters", "Sec-WebSocket-Extensions", func(n int) string { return "x" + repeatTo("; p=1", n) }},
	{"many extensions", "Sec-WebSocket-Extensions", func(n int) string { return "x" + repeatTo(", x", n) }},
	{"extensions with spaces around every separator", "Sec-WebSocket-Extensions", func(n int) string { return "x" + repeatTo(" ;  p =  \"v\"  , x", n) }},
	{"subprotocols of commas", "Sec-WebSocket-Protocol", func(n int) string { return repeatTo(",", n) }},
	{"many subprotocols", "Sec-WebSocket-Protocol", func(n int) string { return "p" + repeatTo(", p", n) }},
	{"subprotocols of quotes and semicolons", "Sec-WebSocket-Protocol", func(n int) string { return repeatTo(`";, `, n) }},
}

// with returns a header holding the attack's value of about n bytes.
func (a headerAttack) with(n int) http.Header {
	h := http.Header{}
	h.Set(a.header, a.value(n))
	return h
}

// parse runs what Upgrade runs on the header: ParseExtensions or
// Subprotocols.
func (a headerAttack) parse(h http.Header) {
	if a.header == "Sec-WebSocket-Protocol" {
		handshake.Subprotocols(h)
	} else {
		handshake.ParseExtensions(h)
	}
}

// bestOf returns the shortest of runs timings of parsing h: the one least
// disturbed by whatever else the machine does. Each run starts after a
// garbage collection, so that none pays for collecting another's garbage.
func (a headerAttack) bestOf(runs int, h http.Header) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range runs {
		runtime.GC()
		start := time.Now()
		a.parse(h)
		best = min(best, time.Since(start))
	}
	return best
}

// TestHeaderParsingIsLinear checks that parsing each pathological header
// takes time linear in its size (package handshake promises it, "Limits"):
// eight times the input may take at most sixteen times as long, where a
// quadratic parser would take sixty-four times as long. The margin of four
// between the two keeps the verdict clear of the noise of a shared machine
// (packages' tests run side by side), which a doubling could not: there a
// linear parser may look 3.5 times slower and a quadratic one only 4. The
// sizes, 2 and 16 KiB, keep what the parser builds within the processor's
// caches, whose misses would make even a linear parser look slower per
// byte on larger inputs.
func TestHeaderParsingIsLinear(t *testing.T) {
	const n = 2 << 10
	for _, a := range headerAttacks {
		t.Run(a.name, func(t *testing.T) {
			if raceEnabled {
				// The race detector's instrumentation of allocation
				// swamps ratios of timings, so bound the time instead:
				// a quadratic parser needs seconds for 64 KiB of
				// one-byte tokens, a linear one a few milliseconds.
				d := a.bestOf(3, a.with(64<<10))
				t.Logf("64 KiB: %v", d)
				assert.Less(t, d, 250*time.Millisecond)
				return
			}
			small, large := a.with(n), a.with(8*n)
			a.bestOf(3, large) // warm up
			t1, t8 := a.bestOf(15, small), a.bestOf(15, large)
			t.Logf("%d KiB: %v, %d KiB: %v (×%.2f)", n>>10, t1, 8*n>>10, t8, float64(t8)/float64(t1))
			// The 20 µs allow for the clock's grain where parsing stops
			// at once (a malformed value).
			assert.Less(t, t8, 16*t1+20*time.Microsecond, "parsing 8 times as much took over 16 times as long")
		})
	}
}

func BenchmarkHeaderAttacks(b *testing.B) {
	for _, a := range headerAttacks {
		for _, n := range []int{1 << 10, 8 << 10, 64 << 10} {
			h := a.with(n)
			b.Run(fmt.Sprintf("%s/%dKiB", a.name, n>>10), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					a.parse(h)
				}
			})
		}
	}
}
