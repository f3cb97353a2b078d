package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A backend is one library's echo server, run in its own process by
// serveMain. Besides echoing on any path, each keeps the connections
// opened on /sub as broadcast subscribers.
type backend interface {
	// serve accepts connections from ln until it fails.
	serve(ln net.Listener) error
	// broadcast sends p once, as a binary message, to every subscriber,
	// the way that library's users are told to fan a message out. It
	// returns how many subscribers it was handed to.
	broadcast(p []byte) int
	// subscribers counts the connections open on /sub.
	subscribers() int
}

// backends holds the servers the bench binary runs itself, each made for
// a compression mode (compNone: compression disabled or never offered;
// see compSupport). "ours" here is the broadcast subject, and the echo
// subject of the compression suite unless examples/echo takes a
// -compression flag; the other echo subject is examples/echo, built from
// the main module.
var backends = map[string]func(comp string) backend{
	"ours":    newOursServer,
	"gorilla": newGorillaServer,
	"coder":   newCoderServer,
	"gobwas":  func(comp string) backend { return &gobwasServer{deflate: comp != compNone} },
	"gws":     newGWSServer,
	"nbio":    func(comp string) backend { return &nbioServer{deflate: comp != compNone} },
	"raw":     func(string) backend { return new(rawServer) },
}

// subPath is where broadcast subscribers connect.
const subPath = "/sub"

// maxMessage bounds incoming messages on every server: the largest payload
// the matrix sends is 1 MiB.
const maxMessage = 32 << 20

// serveMain runs one backend until its standard input closes:
//
//	bench -serve gorilla -addr 127.0.0.1:0 [-compression no-context-takeover|context-takeover]
//
// It prints "bench: NAME listening on ws://ADDR" once it listens, then
// answers commands read from standard input, one a line:
//
//	subs              -> "subs N"
//	bcast SIZE COUNT  -> "bcast N" after COUNT broadcasts of SIZE bytes
func serveMain(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	name := fs.String("serve", "", "backend `name` to run")
	addr := fs.String("addr", "127.0.0.1:0", "loopback `host:port` to listen on")
	comp := fs.String("compression", compNone, "permessage-deflate `mode` to accept: "+strings.Join(compModes, " or ")+" (default none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	mk, ok := backends[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "bench: unknown backend %q\n", *name)
		return 2
	}
	if !supports(*name, *comp) {
		fmt.Fprintf(os.Stderr, "bench: %s does not support compression %q\n", *name, *comp)
		return 2
	}
	if err := raiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	ln, err := listenLoopback(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b := mk(*comp)
	failed := make(chan error, 1)
	go func() { failed <- b.serve(ln) }()
	fmt.Printf("bench: %s listening on ws://%s\n", *name, ln.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		commands(os.Stdin, os.Stdout, b)
	}()
	select {
	case <-done: // the parent closed our stdin, or went away
		return 0
	case err := <-failed:
		fmt.Fprintf(os.Stderr, "bench: %s: %v\n", *name, err)
		return 1
	}
}

// listenLoopback listens on addr, which must be a loopback address: the
// benchmark never serves anything beyond this machine.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("refusing to listen on %s: loopback only", addr)
	}
	return net.Listen("tcp", addr)
}

// commands answers the parent's commands until r ends.
func commands(r io.Reader, w io.Writer, b backend) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 1 && f[0] == "subs":
			fmt.Fprintf(w, "subs %d\n", b.subscribers())
		case len(f) == 3 && f[0] == "bcast":
			size, err1 := strconv.Atoi(f[1])
			count, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil || size < 0 || size > maxMessage || count < 1 || count > 1e6 {
				fmt.Fprintf(w, "error bad command %q\n", sc.Text())
				continue
			}
			p := payload(size)
			n := 0
			for range count {
				n = b.broadcast(p)
			}
			fmt.Fprintf(w, "bcast %d\n", n)
		default:
			fmt.Fprintf(w, "error unknown command %q\n", sc.Text())
		}
	}
}

// raiseFileLimit lifts RLIMIT_NOFILE so that tens of thousands of
// connections fit. Children started afterwards inherit the new limit.
func raiseFileLimit() error {
	const want = 1 << 18
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= want {
		return nil
	}
	next := lim
	next.Cur = want
	if next.Max < want {
		next.Max = want // needs CAP_SYS_RESOURCE; fall back below
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err == nil {
		return nil
	}
	next = lim
	next.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		return fmt.Errorf("raise open file limit: %w", err)
	}
	return fmt.Errorf("open file limit is %d (hard), below %d: idle connection counts will be capped", lim.Max, want)
}

// httpServe serves h on ln with net/http, as most of the servers do.
func httpServe(ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          nil,
	}
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// A hub is a set of broadcast subscribers. It is safe for concurrent use.
type hub[T comparable] struct {
	mu   sync.Mutex
	subs map[T]struct{}
}

func (h *hub[T]) add(c T) {
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[T]struct{})
	}
	h.subs[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub[T]) remove(c T) {
	h.mu.Lock()
	delete(h.subs, c)
	h.mu.Unlock()
}

func (h *hub[T]) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// snapshot returns the subscribers, so that a broadcast writes without
// holding the lock.
func (h *hub[T]) snapshot() []T {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := make([]T, 0, len(h.subs))
	for c := range h.subs {
		s = append(s, c)
	}
	return s
}

// background is the context of every server-side call: it is never done,
// so the libraries that take a context arm no timer for it.
var background = context.Background()
