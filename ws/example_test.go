package ws_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ab7c482b/websocket/ws"
)

// An echo server: Accept inside an ordinary http.Handler, then read and
// write whole messages until the client goes.
func ExampleAccept() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, &ws.AcceptOptions{Subprotocols: []string{"echo"}})
		if err != nil {
			return // Accept has replied with the HTTP error
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return // the client closed, or broke the protocol
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &ws.DialOptions{
		Subprotocols: []string{"echo"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("subprotocol:", c.Subprotocol())
	for _, s := range []string{"one", "two"} {
		if err := c.Write(ctx, ws.MessageText, []byte(s)); err != nil {
			log.Fatal(err)
		}
		_, msg, err := c.Read(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(msg))
	}
	if err := c.Close(ws.StatusNormalClosure, ""); err != nil {
		log.Fatal(err)
	}
	// Output:
	// subprotocol: echo
	// one
	// two
}

// A client: Dial, send "hello", print the echo, and close with the
// closing handshake.
func ExampleDial() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		c.Write(r.Context(), typ, msg)
		c.Read(r.Context()) // answers the client's close frame
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Write(ctx, ws.MessageText, []byte("hello")); err != nil {
		log.Fatal(err)
	}
	_, msg, err := c.Read(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", msg)
	err = c.Close(ws.StatusNormalClosure, "bye")
	fmt.Println("closed:", err == nil)
	// Output:
	// hello
	// closed: true
}

// An echo loop that streams each message back as it arrives, with Reader
// and Writer, so that no message is ever held whole in memory.
func ExampleConn_Reader() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			wr, err := c.Writer(ctx, typ)
			if err != nil {
				return
			}
			if _, err := io.Copy(wr, rd); err != nil {
				return
			}
			if err := wr.Close(); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	big := strings.Repeat("0123456789", 100_000) // 1 MB, sent in fragments
	for _, s := range []string{"short", big} {
		if err := c.Write(ctx, ws.MessageText, []byte(s)); err != nil {
			log.Fatal(err)
		}
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			log.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rd)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(typ, n)
	}
	c.Close(ws.StatusNormalClosure, "")
	// Output:
	// text 5
	// text 1000000
}

// Compression with context takeover: the server keeps a dictionary across
// messages, so a stream of similar messages shrinks further, at the cost
// of a compressor held for the connection's life. Either end may decline
// and connect uncompressed; Compressed tells which happened.
func ExampleConfig_compression() {
	cfg := ws.Config{
		Compression:          ws.CompressionContextTakeover,
		CompressionThreshold: 64, // compress messages of 64 bytes and more
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, &ws.AcceptOptions{Config: cfg})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for range 3 {
			c.Write(r.Context(), ws.MessageText, []byte(`{"event":"price","symbol":"ACME","bid":101.25,"ask":101.27}`))
		}
		c.Close(ws.StatusNormalClosure, "")
	}))
	defer srv.Close()

	ctx := context.Background()
	c, resp, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &ws.DialOptions{Config: cfg})
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	fmt.Println("compressed:", c.Compressed())
	fmt.Println("agreed:", resp.Header.Get("Sec-WebSocket-Extensions"))
	for range 3 {
		_, msg, err := c.Read(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(msg), "bytes")
	}
	// Output:
	// compressed: true
	// agreed: permessage-deflate
	// 59 bytes
	// 59 bytes
	// 59 bytes
}
