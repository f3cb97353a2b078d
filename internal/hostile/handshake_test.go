package hostile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/rawws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quickAnswer bounds the time a server may take to answer a pathological
// handshake.
const quickAnswer = time.Second

var allServers = []string{"echo", "chat", "push", "auth"}

// request is a handshake request the raw client sends: a valid one for s,
// changed by edit.
type request func(s *instance) string

// valid returns a valid handshake request for s with extra header lines.
func valid(extra string) request {
	return func(s *instance) string {
		return rawws.Request(s.proc.Addr, s.path, rawws.NewKey(), s.extra+extra)
	}
}

// edited returns a valid request for s with old replaced by new.
func edited(old, new string) request {
	return func(s *instance) string {
		r := valid("")(s)
		if !strings.Contains(r, old) {
			panic("hostile: request has no " + old)
		}
		return strings.Replace(r, old, new, 1)
	}
}

// answers is a case where the server must answer req with status (and,
// for a refusal, no upgrade) within quickAnswer, and pass check.
func answers(name string, servers []string, req request, status int, check func(t *testing.T, resp *http.Response)) hostileCase {
	return hostileCase{name: name, servers: servers, run: func(t *testing.T, s *instance) {
		conn, err := net.DialTimeout("tcp", s.proc.Addr, caseTimeout)
		require.NoError(t, err)
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(caseTimeout))
		r := req(s)
		// Write while reading: a server may answer before the request
		// ends (431) and stop reading it.
		wrote := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := io.WriteString(conn, r)
			wrote <- err
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		elapsed := time.Since(start)
		conn.SetWriteDeadline(time.Now()) // the rest of the request is moot
		<-wrote
		require.NoError(t, err, "reading the answer to a %d-byte request", len(r))
		defer resp.Body.Close()
		assert.Equal(t, status, resp.StatusCode, "status (%s)", resp.Status)
		assert.Less(t, elapsed, quickAnswer, "the answer to a %d-byte request took %v", len(r), elapsed)
		if status != http.StatusSwitchingProtocols {
			assert.Empty(t, resp.Header.Get("Sec-WebSocket-Accept"), "a refused handshake must not be accepted")
		}
		if check != nil {
			check(t, resp)
		}
	}}
}

// upgraded checks a 101 that selected nothing the server does not offer.
func upgraded(t *testing.T, resp *http.Response) {
	assert.Empty(t, resp.Header.Get("Sec-WebSocket-Extensions"), "no extension is offered validly")
	assert.Empty(t, resp.Header.Get("Sec-WebSocket-Protocol"), "the server speaks no subprotocol")
}

func handshakeCases() []hostileCase {
	big := strings.Repeat("a", 64<<10)
	var many strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&many, "X-H%d: v\r\n", i)
	}
	pathological := func(header, value string) string { return header + ": " + value + "\r\n" }
	const kib8 = 8 << 10
	wsServers := []string{"echo", "chat"}
	return []hostileCase{
		answers("§4.2.1 missing Sec-WebSocket-Key", allServers, func(s *instance) string {
			r := valid("")(s)
			i := strings.Index(r, "Sec-WebSocket-Key:")
			j := i + strings.Index(r[i:], "\r\n") + 2
			return r[:i] + r[j:]
		}, http.StatusBadRequest, nil),
		answers("§4.2.1 Sec-WebSocket-Key of 9 bytes", allServers, edited("Sec-WebSocket-Key: ", "Sec-WebSocket-Key: dG9vIHNob3J0\r\nX-Old-Key: "), http.StatusBadRequest, nil),
		answers("§4.2.1 two Sec-WebSocket-Keys", allServers, valid("Sec-WebSocket-Key: "+rawws.NewKey()+"\r\n"), http.StatusBadRequest, nil),
		answers("§4.2.1 missing Upgrade", allServers, edited("Upgrade: websocket\r\n", ""), http.StatusBadRequest, nil),
		answers("§4.2.1 Sec-WebSocket-Version 8", allServers, edited("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"), http.StatusUpgradeRequired,
			func(t *testing.T, resp *http.Response) {
				assert.Equal(t, "13", resp.Header.Get("Sec-WebSocket-Version"), "§4.2.2: a 426 names the version the server speaks")
			}),
		answers("§4.2.1 method POST", allServers, edited("GET ", "POST "), http.StatusMethodNotAllowed, nil),
		answers("§10.2 cross-origin Origin", allServers, valid("Origin: http://evil.example\r\n"), http.StatusForbidden, nil),
		answers("§10.2 Origin null", allServers, valid("Origin: null\r\n"), http.StatusForbidden, nil),
		answers("§10.4 64 KiB header", allServers, valid("X-Big: "+big+"\r\n"), http.StatusRequestHeaderFieldsTooLarge, nil),
		answers("§10.4 5000 header lines", allServers, valid(many.String()), http.StatusRequestHeaderFieldsTooLarge, nil),
		answers("§9.1 8 KiB of commas in Sec-WebSocket-Extensions", wsServers, valid(pathological("Sec-WebSocket-Extensions", strings.Repeat(",", kib8))), http.StatusSwitchingProtocols, upgraded),
		answers("§9.1 8 KiB of semicolons in Sec-WebSocket-Extensions", wsServers, valid(pathological("Sec-WebSocket-Extensions", strings.Repeat(";", kib8))), http.StatusBadRequest, nil),
		answers("§9.1 8 KiB of quotes in Sec-WebSocket-Extensions", wsServers, valid(pathological("Sec-WebSocket-Extensions", strings.Repeat(`"`, kib8))), http.StatusBadRequest, nil),
		answers("§9.1 unterminated 8 KiB quoted string in Sec-WebSocket-Extensions", wsServers, valid(pathological("Sec-WebSocket-Extensions", `x; p="`+strings.Repeat(`\"`, kib8/2))), http.StatusBadRequest, nil),
		answers("§9.1 2000 parameters in Sec-WebSocket-Extensions", wsServers, valid(pathological("Sec-WebSocket-Extensions", "x"+strings.Repeat("; p=1", 2000))), http.StatusSwitchingProtocols, upgraded),
		answers("§9.1 1000 extensions in Sec-WebSocket-Extensions", wsServers, valid(pathological("Sec-WebSocket-Extensions", strings.Repeat("x, ", 1000)+"x")), http.StatusSwitchingProtocols, upgraded),
		answers("§4.1 8 KiB of commas in Sec-WebSocket-Protocol", wsServers, valid(pathological("Sec-WebSocket-Protocol", strings.Repeat(",", kib8))), http.StatusSwitchingProtocols, upgraded),
		answers("§4.1 8 KiB of quotes and semicolons in Sec-WebSocket-Protocol", wsServers, valid(pathological("Sec-WebSocket-Protocol", strings.Repeat(`";,`, kib8/3))), http.StatusSwitchingProtocols, upgraded),
		answers("§4.1 2000 subprotocols in Sec-WebSocket-Protocol", wsServers, valid(pathological("Sec-WebSocket-Protocol", strings.Repeat("p, ", 2000)+"p")), http.StatusSwitchingProtocols, upgraded),
		{name: "§10.4 slowloris", servers: allServers, run: slowloris},
	}
}

// slowConns is the number of connections of a slowloris attack.
const slowConns = 32

// slowloris opens slowConns connections that send a request's header one
// byte every 100 ms and never finish it. A well-behaved client must be
// served meanwhile, and the server must drop every slow connection within
// its ReadHeaderTimeout and a margin.
func slowloris(t *testing.T, s *instance) {
	limit := s.readHeaderTimeout + 3*time.Second
	// The header never ends: its first field is longer than the time
	// allows to send.
	req := "GET " + s.path + " HTTP/1.1\r\nX-Slow: " + strings.Repeat("z", 4096)
	type result struct {
		took time.Duration
		err  error
	}
	results := make(chan result, slowConns)
	sending := make(chan struct{}, slowConns)
	for range slowConns {
		go func() {
			start := time.Now()
			conn, err := net.DialTimeout("tcp", s.proc.Addr, caseTimeout)
			if err != nil {
				sending <- struct{}{}
				results <- result{0, err}
				return
			}
			defer conn.Close()
			ended := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, conn)
				ended <- err
			}()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			giveUp := time.NewTimer(limit + 2*time.Second)
			defer giveUp.Stop()
			conn.Write([]byte(req[:1]))
			sending <- struct{}{}
			for i := 1; ; i++ {
				select {
				case err := <-ended:
					if errors.Is(err, syscall.ECONNRESET) {
						err = nil
					}
					results <- result{time.Since(start), err}
					return
				case <-tick.C:
					conn.Write([]byte(req[i : i+1])) // fails once dropped
				case <-giveUp.C:
					conn.Close()
					<-ended
					results <- result{time.Since(start), fmt.Errorf("still open after %v", time.Since(start).Round(time.Millisecond))}
					return
				}
			}
		}()
	}
	for range slowConns {
		<-sending
	}
	visit := s.healthy(t)
	var longest time.Duration
	for range slowConns {
		r := <-results
		if assert.NoError(t, r.err, "a slow connection") {
			assert.Less(t, r.took, limit, "a slow connection lasted past ReadHeaderTimeout (%v) and a margin", s.readHeaderTimeout)
		}
		longest = max(longest, r.took)
	}
	require.NoError(t, visit, "a well-behaved client during the slowloris")
	t.Logf("%d slow connections dropped after %v at the most (ReadHeaderTimeout %v)", slowConns, longest.Round(time.Millisecond), s.readHeaderTimeout)
}
