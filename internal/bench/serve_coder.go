package main

import (
	"io"
	"net"
	"net/http"

	"github.com/coder/websocket"
)

// coderServer is coder/websocket as its echo example writes it, Reader and
// Writer joined by a copy, but through one buffer per connection as
// examples/echo does (io.Copy would allocate 32 KiB per message). It
// broadcasts with Write per subscriber.
type coderServer struct {
	accept *websocket.AcceptOptions
	subs   hub[*websocket.Conn]
}

func newCoderServer(comp string) backend {
	mode := websocket.CompressionDisabled
	switch comp {
	case compNoTakeover:
		mode = websocket.CompressionNoContextTakeover
	case compTakeover:
		mode = websocket.CompressionContextTakeover
	}
	return &coderServer{accept: &websocket.AcceptOptions{CompressionMode: mode}}
}

func (s *coderServer) serve(ln net.Listener) error {
	return httpServe(ln, http.HandlerFunc(s.handle))
}

func (s *coderServer) handle(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, s.accept)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(maxMessage) // the default, 32 KiB, is below the matrix's largest message
	if r.URL.Path == subPath {
		s.subs.add(c)
		defer s.subs.remove(c)
		for {
			if _, _, err := c.Read(background); err != nil {
				return
			}
		}
	}
	buf := make([]byte, 32<<10)
	for {
		typ, rd, err := c.Reader(background)
		if err != nil {
			return
		}
		wr, err := c.Writer(background, typ)
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

func (s *coderServer) broadcast(p []byte) int {
	subs := s.subs.snapshot()
	for _, c := range subs {
		c.Write(background, websocket.MessageBinary, p)
	}
	return len(subs)
}

func (s *coderServer) subscribers() int { return s.subs.len() }
