package main

import (
	"io"
	"net"
	"net/http"

	"github.com/gorilla/websocket"
)

// gorillaServer is gorilla/websocket streaming each message back with
// NextReader and NextWriter, as examples/echo does with ours (its own
// examples use ReadMessage and WriteMessage, which measured no faster
// here and allocate every message whole), and a PreparedMessage per
// broadcast. With compression it sets EnableCompression, which agrees
// only to no context takeover.
type gorillaServer struct {
	up   websocket.Upgrader
	subs hub[*websocket.Conn]
}

func newGorillaServer(comp string) backend {
	s := new(gorillaServer)
	s.up.EnableCompression = comp != compNone
	return s
}

func (s *gorillaServer) serve(ln net.Listener) error {
	return httpServe(ln, http.HandlerFunc(s.handle))
}

func (s *gorillaServer) handle(w http.ResponseWriter, r *http.Request) {
	c, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetReadLimit(maxMessage)
	if r.URL.Path == subPath {
		s.subs.add(c)
		defer s.subs.remove(c)
		for {
			if _, _, err := c.NextReader(); err != nil {
				return
			}
		}
	}
	buf := make([]byte, 32<<10)
	for {
		typ, rd, err := c.NextReader()
		if err != nil {
			return
		}
		wr, err := c.NextWriter(typ)
		if err != nil {
			return
		}
		if _, err := io.CopyBuffer(wr, rd, buf); err != nil {
			return
		}
		if err := wr.Close(); err != nil {
			return
		}
	}
}

func (s *gorillaServer) broadcast(p []byte) int {
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, p)
	if err != nil {
		panic(err)
	}
	subs := s.subs.snapshot()
	for _, c := range subs {
		c.WritePreparedMessage(pm)
	}
	return len(subs)
}

func (s *gorillaServer) subscribers() int { return s.subs.len() }
