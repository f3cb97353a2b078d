// Echo is a WebSocket echo server: it sends every message back to its
// sender with the same type, on any path. The conformance suite
// (internal/conformance) and Autobahn|Testsuite (internal/autobahn) test it.
//
//	go run ./examples/echo [-addr 127.0.0.1:9001] [-read-limit BYTES] [-compression MODE]
//
// It prints the URL it serves once it listens (-addr 127.0.0.1:0 picks a
// free port) and keeps the default origin policy, so clients that send no
// Origin header are accepted. SIGINT or SIGTERM closes every connection
// with 1001 (going away) and exits.
//
// Compression (permessage-deflate, RFC 7692) is negotiated when the client
// offers it. -compression picks the mode: no-context-takeover (the
// default, each message compressed on its own), context-takeover (the
// dictionary kept across messages, when the client allows it) or disabled.
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

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "`host:port` to listen on")
	// Autobahn's largest messages are 16 MiB; leave some room.
	limit := flag.Int64("read-limit", 16<<20+64<<10, "largest message in `bytes` (0: the library's default)")
	compression := flag.String("compression", "no-context-takeover", "permessage-deflate `mode`: no-context-takeover, context-takeover or disabled")
	flag.Parse()
	mode, ok := compressionModes[*compression]
	if !ok {
		log.Fatalf("echo: unknown -compression mode %q", *compression)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal("echo: ", err)
	}
	opts := &ws.AcceptOptions{Config: ws.Config{ReadLimit: *limit, Compression: mode}}
	var conns sync.WaitGroup
	// live closes every connection with 1001 at shutdown, which
	// http.Server.Shutdown cannot do for hijacked connections.
	live := &ws.Group{Reason: "server shutting down"}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conns.Add(1) // before the hijack, while Shutdown still waits for us
			c, err := ws.Accept(w, r, opts)
			if err != nil {
				conns.Done()
				return
			}
			live.Add(c)
			// The Conn outlives the handler: serving it on a goroutine of
			// its own lets net/http release what it keeps per request
			// (its goroutine and buffers, about 8 KiB) for as long as the
			// connection lives.
			go func() {
				defer conns.Done()
				echo(c)
			}()
		}),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    8 << 10,
		IdleTimeout:       time.Minute,
	}
	shutdown := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		live.Shutdown(sctx)
		shutdown <- err
	}()
	fmt.Printf("echo: listening on ws://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal("echo: ", err)
	}
	err = <-shutdown
	conns.Wait() // hijacked connections finish their closing handshakes
	if err != nil {
		log.Fatal("echo: ", err)
	}
}

// compressionModes maps the values of -compression to the library's modes.
var compressionModes = map[string]ws.CompressionMode{
	"no-context-takeover": ws.CompressionNoContextTakeover,
	"context-takeover":    ws.CompressionContextTakeover,
	"disabled":            ws.CompressionDisabled,
}

// echo streams each message back as it arrives, until the connection
// closes. io.Copy goes through a buffer the library lends for the message
// (32 KiB), so memory does not grow with message size and an idle
// connection holds none, and a message under 32 KiB goes back as one
// frame in one write. Its
// context is never cancelled: a cancellable one costs every blocking call
// a registration, and the connection's end (the peer's close, or the
// Group's 1001 at shutdown) ends the loop anyway.
func echo(c *ws.Conn) {
	defer c.CloseNow()
	ctx := context.Background()
	for {
		typ, r, err := c.Reader(ctx)
		var w io.WriteCloser
		if err == nil {
			w, err = c.Writer(ctx, typ)
		}
		if err == nil {
			_, err = io.Copy(w, r)
		}
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			return
		}
	}
}
