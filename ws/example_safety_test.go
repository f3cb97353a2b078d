package ws_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ab7c482b/websocket/ws"
)

// Graceful shutdown: the Group's Shutdown runs from the http.Server's
// RegisterOnShutdown, and each client is sent 1001 Going Away.
func ExampleGroup() {
	conns := &ws.Group{Reason: "server restarting"}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		if !conns.Add(c) {
			return // shutting down: c is being closed with 1001
		}
		ctx := context.Background()
		if err := c.Write(ctx, ws.MessageText, []byte("welcome")); err != nil {
			return
		}
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return // here: the client answered the server's 1001
			}
		}
	}))
	// Shutdown runs this on a goroutine of its own and does not wait for
	// it: give it a deadline, and hand the result back.
	shut := make(chan error, 1)
	srv.Config.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- conns.Shutdown(ctx)
	})
	srv.Start()
	defer srv.Close()

	ctx := context.Background()
	c, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s; open connections: %d\n", msg, conns.Len())
	got := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		got <- err
	}()

	if err := srv.Config.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("shutdown:", <-shut, "open connections:", conns.Len())
	var ce *ws.CloseError
	if errors.As(<-got, &ce) {
		fmt.Printf("client: %d %s\n", ce.Code, ce.Reason)
	}
	// Output:
	// welcome; open connections: 1
	// shutdown: <nil> open connections: 0
	// client: 1001 server restarting
}

// A broadcast: each connection gets a Queue, and a message prepared once
// is queued for all of them without waiting for any. A connection that
// falls too far behind is closed as too slow (1013) instead of holding up
// the others.
func ExampleQueue() {
	queued := make(chan *ws.Queue, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		q := ws.NewQueue(c, &ws.QueueOptions{MaxBytes: 64 << 10, Policy: ws.QueueClose})
		defer q.Close()
		queued <- q
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return // the read loop also answers pings and close frames
			}
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	var clients []*ws.Conn
	var queues []*ws.Queue
	for range 2 {
		c, _, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			log.Fatal(err)
		}
		defer c.CloseNow()
		clients = append(clients, c)
		queues = append(queues, <-queued)
	}

	for _, text := range []string{"one", "two"} {
		pm, err := ws.NewPreparedMessage(ws.MessageText, []byte(text))
		if err != nil {
			log.Fatal(err)
		}
		for _, q := range queues {
			if err := q.SendPrepared(ctx, pm); err != nil {
				fmt.Println("dropped a member:", err)
			}
		}
	}
	for i, c := range clients {
		for range 2 {
			_, msg, err := c.Read(ctx)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Printf("client %d: %s\n", i, msg)
		}
		c.Close(ws.StatusNormalClosure, "")
	}
	// Output:
	// client 0: one
	// client 0: two
	// client 1: one
	// client 1: two
}
