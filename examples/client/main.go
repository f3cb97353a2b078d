// Client is a command-line WebSocket client: it sends each line of its
// input as a text message and prints every message that arrives.
//
//	go run ./examples/client ws://localhost:9001/
//
// End the input (Ctrl-D) and it closes the connection normally (1000),
// after printing what the server sent before its close; it also exits
// when the server closes the connection. Try it on go run ./examples/echo.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ab7c482b/websocket/ws"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: client ws://host[:port]/path")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, flag.Arg(0), os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// run talks to the server at url until in ends, the server closes, or ctx
// ends (Ctrl-C); the first and last close the connection with 1000.
func run(ctx context.Context, url string, in io.Reader, out, errOut io.Writer) error {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, _, err := ws.Dial(dctx, url, nil)
	cancel()
	if err != nil {
		return err
	}
	defer c.CloseNow()

	// One goroutine prints what arrives; reading also answers the
	// server's pings and its close frame.
	readErr := make(chan error, 1)
	go func() {
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				readErr <- err
				return
			}
			if typ == ws.MessageBinary {
				fmt.Fprintf(out, "[%d bytes of binary]\n", len(msg))
				continue
			}
			fmt.Fprintf(out, "%s\n", msg)
		}
	}()
	// Another reads the input. If the server closes first, it may stay
	// blocked reading the terminal until the process exits.
	lines := make(chan string)
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(in); sc.Scan(); {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
	}()

	for {
		select {
		case line, ok := <-lines:
			if ok {
				if err := c.Write(ctx, ws.MessageText, []byte(line)); err != nil {
					return err
				}
				continue
			}
		case err := <-readErr:
			code := ws.CloseStatus(err)
			if code == ws.StatusNormalClosure || code == ws.StatusGoingAway {
				fmt.Fprintf(errOut, "server closed the connection: %v\n", err)
				return nil
			}
			return err
		case <-ctx.Done():
		}
		// The input ended or Ctrl-C: close, then wait until the reader
		// has printed everything the server sent before its close frame.
		err := c.Close(ws.StatusNormalClosure, "")
		<-readErr
		return err
	}
}
