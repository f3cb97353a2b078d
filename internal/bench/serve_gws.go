package main

import (
	"net"
	"net/http"

	"github.com/lxzan/gws"
)

// gwsServer is lxzan/gws as its echo example writes it: an event handler
// whose OnMessage writes the message back, ReadLoop per connection, and a
// gws.Broadcaster per broadcast.
type gwsServer struct {
	echo, sub *gws.Upgrader
	subs      hub[*gws.Conn]
}

func newGWSServer(comp string) backend {
	s := new(gwsServer)
	opt := func() *gws.ServerOption {
		o := &gws.ServerOption{ReadMaxPayloadSize: maxMessage, WriteMaxPayloadSize: maxMessage}
		if comp != compNone {
			// gws narrows both windows to 4 KiB with context
			// takeover unless told otherwise; 32 KiB, as every other
			// server here uses, keeps the comparison even and the
			// client's frames (compressed with a 32 KiB window)
			// valid.
			takeover := comp == compTakeover
			o.PermessageDeflate = gws.PermessageDeflate{
				Enabled:               true,
				ServerContextTakeover: takeover,
				ClientContextTakeover: takeover,
				ServerMaxWindowBits:   15,
				ClientMaxWindowBits:   15,
			}
		}
		return o
	}
	s.echo = gws.NewUpgrader(gwsEcho{}, opt())
	s.sub = gws.NewUpgrader(&gwsSub{s: s}, opt())
	return s
}

func (s *gwsServer) serve(ln net.Listener) error {
	return httpServe(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := s.echo
		if r.URL.Path == subPath {
			up = s.sub
		}
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	}))
}

type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	c.WriteMessage(m.Opcode, m.Bytes())
}

type gwsSub struct {
	gws.BuiltinEventHandler
	s *gwsServer
}

func (h *gwsSub) OnOpen(c *gws.Conn)                    { h.s.subs.add(c) }
func (h *gwsSub) OnClose(c *gws.Conn, _ error)          { h.s.subs.remove(c) }
func (h *gwsSub) OnMessage(_ *gws.Conn, m *gws.Message) { m.Close() }

func (s *gwsServer) broadcast(p []byte) int {
	b := gws.NewBroadcaster(gws.OpcodeBinary, p)
	defer b.Close()
	subs := s.subs.snapshot()
	for _, c := range subs {
		b.Broadcast(c)
	}
	return len(subs)
}

func (s *gwsServer) subscribers() int { return s.subs.len() }
