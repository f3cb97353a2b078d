package main

import (
	"net"
	"net/http"
	"os"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// nbioServer is lesismal/nbio's websocket on its own non-blocking HTTP
// engine (epoll, no goroutine per connection), as its examples run it:
// OnMessage writes the message back, and broadcasts call WriteMessage per
// subscriber.
type nbioServer struct {
	deflate bool // EnableCompression: no context takeover only
	subs    hub[*websocket.Conn]
}

func (s *nbioServer) serve(ln net.Listener) error {
	logging.Output = os.Stderr // stdout carries our replies to the parent
	logging.SetLevel(logging.LevelError)
	echo := websocket.NewUpgrader()
	echo.MessageLengthLimit = maxMessage
	echo.EnableCompression(s.deflate)
	echo.OnMessage(func(c *websocket.Conn, typ websocket.MessageType, p []byte) {
		c.WriteMessage(typ, p)
	})
	sub := websocket.NewUpgrader()
	sub.MessageLengthLimit = maxMessage
	sub.OnOpen(s.subs.add)
	sub.OnClose(func(c *websocket.Conn, _ error) { s.subs.remove(c) })
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := echo
		if r.URL.Path == subPath {
			up = sub
		}
		up.Upgrade(w, r, nil)
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{ln.Addr().String()},
		NListener:               1,
		Listen:                  func(string, string) (net.Listener, error) { return ln, nil },
		Handler:                 mux,
		ReleaseWebsocketPayload: true,
	})
	if err := engine.Start(); err != nil {
		return err
	}
	select {} // the engine serves until the process exits
}

func (s *nbioServer) broadcast(p []byte) int {
	subs := s.subs.snapshot()
	for _, c := range subs {
		c.WriteMessage(websocket.BinaryMessage, p)
	}
	return len(subs)
}

func (s *nbioServer) subscribers() int { return s.subs.len() }
