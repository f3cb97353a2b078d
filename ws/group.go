package ws

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// A Group tracks live connections so that a server can close them all
// when it shuts down. http.Server.Shutdown does not see a WebSocket: the
// connection was hijacked from net/http, so the server neither waits for
// it nor closes it. A Group does both: Shutdown sends every connection a
// close frame with StatusGoingAway (RFC 6455 §7.4.1: "a server going
// down"), waits for the closing handshakes, and closes what is left when
// its context ends.
//
// A connection leaves the Group by itself when it is closed, by either
// end and for any reason, so a Group holds only live connections.
//
// To shut down with an http.Server, register the Group's Shutdown with
// RegisterOnShutdown. Server.Shutdown runs the function on a goroutine of
// its own and does not wait for it, and the function takes no context:
// give it a deadline inside, and hand its result back on a channel.
//
//	var conns ws.Group
//	shut := make(chan error, 1)
//	srv.RegisterOnShutdown(func() {
//		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
//		defer cancel()
//		shut <- conns.Shutdown(ctx)
//	})
//	// In the handler, after Accept:
//	//	if !conns.Add(c) { return } // the server is going away
//	// On exit:
//	err := srv.Shutdown(ctx) // HTTP: stop listening, finish requests
//	err = <-shut             // WebSockets: every one closed
//
// The zero Group is ready to use. A Group is safe for concurrent use, and
// must not be copied after first use.
type Group struct {
	// Reason is the reason Shutdown sends with StatusGoingAway (at most
	// 123 bytes are sent); empty sends none. Set it before the first
	// call to Add.
	Reason string

	mu       sync.Mutex
	conns    map[*Conn]struct{}
	closers  int           // goroutines running Close for Shutdown
	shutdown bool          // Shutdown has begun
	cut      bool          // a Shutdown's context ended
	changed  chan struct{} // closed when conns or closers shrink, if waited on
}

// Add tracks c until it is closed, and reports whether it did. Once
// Shutdown has begun Add returns false and closes c too: with
// StatusGoingAway as Shutdown does, or at once, without a closing
// handshake, if a Shutdown's context has ended. Add returns false as
// well for a connection that is already closed. Adding a connection twice
// tracks it once.
func (g *Group) Add(c *Conn) bool {
	g.mu.Lock()
	if g.cut {
		// Not tracked, so nothing waits for it. Unlock first: closing
		// c may remove it from this Group.
		g.mu.Unlock()
		c.CloseNow()
		return false
	}
	defer g.mu.Unlock()
	if !c.onClose.add(g, func() { g.remove(c) }) {
		return false
	}
	if g.conns == nil {
		g.conns = make(map[*Conn]struct{})
	}
	if _, ok := g.conns[c]; ok {
		return !g.shutdown
	}
	g.conns[c] = struct{}{}
	if g.shutdown {
		g.goAwayLocked(c)
		return false
	}
	return true
}

// Len returns the number of connections the Group tracks: those added and
// not yet closed.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Shutdown closes every connection in the Group. It sends each a close
// frame with StatusGoingAway and Reason, then waits, up to each
// connection's Config.CloseTimeout, for the peer's close frame (each
// connection's own read loop, if it has one, sees the peer's answer and
// returns a *CloseError). Connections added meanwhile are closed the same
// way. If ctx ends before every connection has closed, Shutdown closes
// the rest at once with CloseNow, waits for the closing it started to
// return (which it then does promptly), and returns ctx.Err(); otherwise
// it returns nil once every connection is closed.
//
// Shutdown starts one goroutine per connection for the closing
// handshakes, all of them finished when it returns. It may be called more
// than once: a later call closes nothing new and waits as the first does.
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	if !g.shutdown {
		g.shutdown = true
		for c := range g.conns {
			g.goAwayLocked(c)
		}
	}
	g.mu.Unlock()
	if g.wait(ctx.Done()) {
		return nil
	}
	g.mu.Lock()
	g.cut = true
	rest := slices.Collect(maps.Keys(g.conns))
	g.mu.Unlock()
	for _, c := range rest {
		c.CloseNow()
	}
	g.wait(nil)
	return ctx.Err()
}

// wait waits until no connection is tracked and no closer runs, or until
// stop is closed, and reports whether the Group emptied.
func (g *Group) wait(stop <-chan struct{}) bool {
	for {
		g.mu.Lock()
		if len(g.conns) == 0 && g.closers == 0 {
			g.mu.Unlock()
			return true
		}
		if g.changed == nil {
			g.changed = make(chan struct{})
		}
		changed := g.changed
		g.mu.Unlock()
		select {
		case <-changed:
		case <-stop:
			return false
		}
	}
}

// goAwayLocked starts the closing handshake on c. The caller holds mu.
func (g *Group) goAwayLocked(c *Conn) {
	g.closers++
	go func() {
		c.Close(StatusGoingAway, g.Reason)
		g.mu.Lock()
		g.closers--
		g.changedLocked()
		g.mu.Unlock()
	}()
}

// remove forgets c, which has closed.
func (g *Group) remove(c *Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.conns[c]; ok {
		delete(g.conns, c)
		g.changedLocked()
	}
}

// changedLocked wakes a waiting Shutdown. The caller holds mu.
func (g *Group) changedLocked() {
	if g.changed != nil {
		close(g.changed)
		g.changed = nil
	}
}
