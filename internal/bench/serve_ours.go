package main

import (
	"io"
	"net"
	"net/http"

	"github.com/ab7c482b/websocket/ws"
)

// oursServer is this library's broadcast subject: ws.Accept, a ws.Queue
// per subscriber (closing it as too slow if it falls a full queue behind,
// as cmd/chat does), and one ws.PreparedMessage per broadcast offered to
// every queue without waiting. Its echo path mirrors examples/echo, which
// the echo matrix runs instead; the compression suite runs it when
// examples/echo cannot choose a mode.
type oursServer struct {
	accept *ws.AcceptOptions
	subs   hub[*ws.Queue]
}

func newOursServer(comp string) backend {
	mode := ws.CompressionDisabled
	switch comp {
	case compNoTakeover:
		mode = ws.CompressionNoContextTakeover
	case compTakeover:
		mode = ws.CompressionContextTakeover
	}
	return &oursServer{accept: &ws.AcceptOptions{Config: ws.Config{ReadLimit: maxMessage, Compression: mode}}}
}

func (s *oursServer) serve(ln net.Listener) error {
	return httpServe(ln, http.HandlerFunc(s.handle))
}

func (s *oursServer) handle(w http.ResponseWriter, r *http.Request) {
	c, err := ws.Accept(w, r, s.accept)
	if err != nil {
		return
	}
	defer c.CloseNow()
	if r.URL.Path == subPath {
		q := ws.NewQueue(c, &ws.QueueOptions{Policy: ws.QueueClose})
		s.subs.add(q)
		defer s.subs.remove(q)
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

func (s *oursServer) broadcast(p []byte) int {
	pm, err := ws.NewPreparedMessage(ws.MessageBinary, p)
	if err != nil {
		panic(err) // a binary message is always valid
	}
	subs := s.subs.snapshot()
	for _, q := range subs {
		q.SendPrepared(background, pm) // a failed subscriber is dropped by its reader
	}
	return len(subs)
}

func (s *oursServer) subscribers() int { return s.subs.len() }
