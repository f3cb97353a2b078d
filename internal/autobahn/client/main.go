// Command client runs this module's WebSocket client against the cases of
// Autobahn|Testsuite's fuzzingserver: it asks the server for the number of
// cases, connects once per case and echoes every message back with its
// type until the connection closes, then asks the server to write its
// reports. It prints one line per case.
//
// Usage:
//
//	go run ./internal/autobahn/client -server ws://127.0.0.1:9001 -agent websocket
//
// See internal/autobahn/README.md for starting the fuzzingserver.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/internal/autobahn"
	"github.com/ab7c482b/websocket/ws"
)

func main() {
	server := flag.String("server", "ws://127.0.0.1:9001", "`URL` of the fuzzingserver")
	agent := flag.String("agent", "websocket", "`name` under which the reports list this client")
	timeout := flag.Duration("case-timeout", 2*time.Minute, "bound on each case")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.TrimSuffix(*server, "/"), *agent, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server, agent string, timeout time.Duration) error {
	n, err := caseCount(ctx, server, timeout)
	if err != nil {
		return fmt.Errorf("getCaseCount: %w", err)
	}
	q := url.QueryEscape(agent)
	for i := 1; i <= n; i++ {
		start := time.Now()
		outcome := runCase(ctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", server, i, q), timeout)
		fmt.Printf("case %d/%d: %s (%v)\n", i, n, outcome, time.Since(start).Round(time.Millisecond))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := command(ctx, server+"/updateReports?agent="+q, timeout); err != nil {
		return fmt.Errorf("updateReports: %w", err)
	}
	fmt.Printf("client: %d cases run; reports updated for agent %q\n", n, agent)
	return nil
}

// dial connects with a read limit that fits Autobahn's largest messages.
func dial(ctx context.Context, u string) (*ws.Conn, error) {
	c, _, err := ws.Dial(ctx, u, &ws.DialOptions{Config: ws.Config{ReadLimit: autobahn.ReadLimit}})
	return c, err
}

// caseCount reads the one text message of /getCaseCount: the number of
// cases, as JSON.
func caseCount(ctx context.Context, server string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(ctx, server+"/getCaseCount")
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	typ, msg, err := c.Read(ctx)
	if err != nil {
		return 0, err
	}
	if typ != ws.MessageText {
		return 0, fmt.Errorf("got a %v message, want text", typ)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(msg)))
	if err != nil {
		return 0, err
	}
	finish(ctx, c)
	return n, nil
}

// command opens a connection that the server only closes, such as
// /updateReports, and waits for the close.
func command(ctx context.Context, u string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(ctx, u)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	return finish(ctx, c)
}

// finish reads until the server closes; the library answers its close
// frame. It returns nil for a normal closure.
func finish(ctx context.Context, c *ws.Conn) error {
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if code := ws.CloseStatus(err); code == ws.StatusNormalClosure || code == ws.StatusNoStatus {
				return nil
			}
			return err
		}
	}
}

// runCase echoes one case's messages and says how the connection ended.
func runCase(ctx context.Context, u string, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(ctx, u)
	if err != nil {
		return "dial failed: " + err.Error()
	}
	defer c.CloseNow()
	err = autobahn.Echo(ctx, c)
	var ce *ws.CloseError
	var pe *frame.ProtocolError
	switch {
	case ctx.Err() != nil:
		// RFC 6455 §7.4.1: 1001 going away, as a client leaving does.
		c.Close(ws.StatusGoingAway, "case timed out")
		return "timed out after " + timeout.String()
	case errors.As(err, &ce):
		return fmt.Sprintf("peer closed with %d (%v)", ce.Code, ce.Code)
	case errors.As(err, &pe):
		return fmt.Sprintf("failed the connection with %d: %s", pe.Code, pe.Reason)
	}
	return "ended: " + err.Error()
}
