package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ab7c482b/websocket/internal/redis"
	"github.com/ab7c482b/websocket/ws"
)

// shutdownTimeout bounds the closing of every client on exit.
const shutdownTimeout = 10 * time.Second

// minKeep is the least the broker keeps for reconnecting pages.
const minKeep = 1000

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// errUsage reports bad flags, already explained on stderr.
var errUsage = errors.New("usage")

// run serves the chat until ctx ends, then closes every client with
// StatusGoingAway. It prints the address it serves on stdout and logs
// to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr         = fs.String("addr", ":30000", "`address` to listen on; port 0 picks a free one")
		origins      = fs.String("origin", "", "extra allowed page origins: comma-separated host `patterns` such as \"*.example.com,localhost:*\" (the page's own host is always allowed)")
		history      = fs.Int("history", 100, "`messages` a newcomer receives from the recent past")
		maxMessage   = fs.Int("max-message", 4096, "longest message, in `bytes` of text")
		rate         = fs.Float64("rate", 2, "`messages` a second each client may send in the long run; 0 turns the limit off")
		burst        = fs.Int("burst", 5, "`messages` a client may send at once before -rate applies")
		queue        = fs.Int("queue", 128, "`messages` a client may fall behind before it is closed as too slow")
		queueBytes   = fs.Int("queue-bytes", ws.DefaultQueueBytes, "`bytes` of messages a client may fall behind before it is closed as too slow")
		maxClients   = fs.Int("max-clients", 1000, "most clients at once; 0 means no limit")
		ping         = fs.Duration("ping", 25*time.Second, "keepalive ping `interval`; a peer that does not answer within it is dropped")
		writeTimeout = fs.Duration("write-timeout", 10*time.Second, "how long one message may take to reach a client before it counts as too slow")
		redisURL     = fs.String("redis", "", "share the room with other chat processes through the Redis at `URL`: redis://[:password@]host:port/db or unix:///path/to/socket?db=N (default: the room lives in this process)")
		verbose      = fs.Bool("v", false, "log debug details")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: chat [flags]\n\nServes a chat room at http://localhost:30000 (see -addr).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chat: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	patterns, err := splitPatterns(*origins)
	if err != nil {
		return err
	}
	switch {
	case *history < 0:
		return errors.New("-history must not be negative")
	case *maxMessage < 1:
		return errors.New("-max-message must be at least 1")
	case *rate < 0:
		return errors.New("-rate must not be negative")
	case *burst < 1:
		return errors.New("-burst must be at least 1")
	case *queue < 1:
		return errors.New("-queue must be at least 1")
	case *queueBytes < 1:
		return errors.New("-queue-bytes must be at least 1")
	case *maxClients < 0:
		return errors.New("-max-clients must not be negative")
	case *ping < 0:
		return errors.New("-ping must not be negative")
	case *writeTimeout <= 0:
		return errors.New("-write-timeout must be positive")
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	broker, closeBroker, err := openBroker(*redisURL, max(*history, minKeep), logger)
	if err != nil {
		return err
	}
	defer closeBroker()
	room, err := newRoom(broker, roomConfig{
		History:      *history,
		MaxMessage:   *maxMessage,
		Rate:         *rate,
		Burst:        *burst,
		Queue:        *queue,
		QueueBytes:   *queueBytes,
		MaxClients:   *maxClients,
		WriteTimeout: *writeTimeout,
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	handler := newHandler(room, handlerOptions{
		Accept: ws.AcceptOptions{
			OriginPatterns: patterns,
			Config: ws.Config{
				// Room for the longest message with every byte
				// escaped in JSON, and a command around it; the room
				// answers anything longer than -max-message with an
				// error, and the library closes the connection with
				// StatusMessageTooBig past this.
				ReadLimit:    int64(6**maxMessage + 1024),
				PingInterval: *ping,
			},
		},
		Logger: logger,
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		room.Close(context.Background())
		return err
	}
	var spare spareConns
	srv := &http.Server{
		Handler:           handler,
		ConnState:         spare.track,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "chat: serving %s\n", serveURL(*addr, ln.Addr()))

	select {
	case err = <-served:
		// The listener failed.
	case <-ctx.Done():
		logger.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// Stop taking connections, and meanwhile close the clients: a
	// hijacked WebSocket is not the http.Server's to wait for.
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(sctx) }()
	if cerr := room.Close(sctx); cerr != nil {
		logger.Warn("room shutdown cut short", "err", cerr)
	}
	spare.closeAll()
	if serr := <-shut; serr != nil {
		logger.Warn("http shutdown", "err", serr)
	}
	if err == nil {
		err = <-served
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	logger.Info("stopped")
	return err
}

// openBroker returns the in-memory broker, or with a URL the Redis one,
// keeping keep messages, and a func that releases it.
func openBroker(url string, keep int, logger *slog.Logger) (Broker, func(), error) {
	if url == "" {
		return newMemBroker(keep), func() {}, nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("-redis: %w", err)
	}
	opts.Name = "chat"
	b := newRedisBroker(redis.NewClient(opts), redisRoom, keep, logger)
	// Not the URL: it may hold a password.
	logger.Info("sharing the room through redis", "network", opts.Network, "addr", opts.Addr, "db", opts.DB)
	return b, func() { b.Close() }, nil
}

// redisRoom names the room's keys in Redis.
const redisRoom = "main"

// spareConns tracks the connections that have not begun a request.
// Browsers open such spare connections ahead of need, and Shutdown waits
// up to five seconds for each; closing them loses no request.
type spareConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// track is an http.Server.ConnState hook.
func (s *spareConns) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state != http.StateNew {
		delete(s.conns, c)
		return
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
}

func (s *spareConns) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// splitPatterns parses the -origin flag.
func splitPatterns(s string) ([]string, error) {
	var patterns []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("-origin: bad pattern %q: %w", p, err)
		}
		patterns = append(patterns, p)
	}
	return patterns, nil
}

// serveURL returns the URL to open in a browser: the host of the -addr
// flag (localhost when it names none or every interface) with the port
// the listener got.
func serveURL(addr string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return "http://" + bound.String()
	}
	return "http://" + net.JoinHostPort(host, port)
}
