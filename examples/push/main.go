// Push shows a server that sends to the browser without being asked: it
// pushes "hello i am 0", "hello i am 1" and "hello i am 2", one every
// -interval, to the page at /, and prints whatever the page sends back.
//
//	go run ./examples/push [-addr localhost:30001] [-interval 2s]
//
// then open http://localhost:30001 and press Send.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ab7c482b/websocket/ws"
)

const page = `<!doctype html>
<meta charset="utf-8"><title>Push</title>
<h1>Pushed by the server</h1>
<ol id="log"></ol>
<form id="reply"><label>Reply <input id="text" value="thanks, server"></label> <button>Send</button></form>
<script>
const log = document.getElementById('log');
const add = (text) => log.appendChild(document.createElement('li')).textContent = text;
const sock = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
sock.onmessage = (e) => add(e.data);
sock.onclose = (e) => add('closed: ' + e.code);
document.getElementById('reply').onsubmit = (e) => {
  e.preventDefault();
  sock.send(document.getElementById('text').value);
};
</script>
`

func main() {
	addr := flag.String("addr", "localhost:30001", "`host:port` to listen on")
	interval := flag.Duration("interval", 2*time.Second, "time between pushes")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal("push: ", err)
	}
	var conns sync.WaitGroup
	srv := &http.Server{
		Handler: newHandler(ctx, &conns, *interval, os.Stdout),
		// Drop clients that send their headers slowly, send huge ones or
		// sit idle between requests.
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    16 << 10,
		IdleTimeout:       time.Minute,
	}
	shut := make(chan struct{})
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
		close(shut)
	}()
	fmt.Printf("push: serving http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal("push: ", err)
	}
	<-shut
	conns.Wait() // every page has been told 1001 (going away)
}

// newHandler serves the page at / and the pushes at /ws, printing what
// pages send to out. When ctx ends it closes every connection with 1001;
// conns counts the connections still open.
func newHandler(ctx context.Context, conns *sync.WaitGroup, interval time.Duration, out io.Writer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		conns.Add(1)
		defer conns.Done()
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return // Accept has written the HTTP error
		}
		defer c.CloseNow()
		defer context.AfterFunc(ctx, func() { c.Close(ws.StatusGoingAway, "server shutting down") })()

		// One goroutine reads, for the page's replies and for its close
		// frame; this one writes.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				_, msg, err := c.Read(context.Background())
				if err != nil {
					return
				}
				fmt.Fprintf(out, "page says: %s\n", msg)
			}
		}()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := range 3 {
			if i > 0 {
				select {
				case <-tick.C:
				case <-done:
					return
				}
			}
			if err := c.Write(context.Background(), ws.MessageText, fmt.Appendf(nil, "hello i am %d", i)); err != nil {
				return
			}
		}
		<-done // keep printing replies until the page goes away
	})
	return mux
}
