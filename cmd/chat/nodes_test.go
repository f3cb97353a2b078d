package main

import (
	"context"

	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/ab7c482b/websocket/internal/redis"
	"github.com/ab7c482b/websocket/internal/testpeer"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// node is one chat process of a room shared through Redis: a room over
// its own Redis broker, served on a loopback port.
type node struct {
	*testServer
	broker    *redisBroker
	redisURL  string
	configure func(*redis.Options)
}

// startNode starts a node on the Redis at redisURL. configure, if not
// nil, may change its Redis client's options.
func startNode(t *testing.T, redisURL string, configure func(*redis.Options)) *node {
	t.Helper()
	n := &node{redisURL: redisURL, configure: configure}
	n.start(t, nil)
	return n
}

func (n *node) start(t *testing.T, ln net.Listener) {
	t.Helper()
	n.broker = newTestRedisBroker(t, n.redisURL, minKeep, n.configure)
	room := newTestRoomOver(t, n.broker, roomConfig{History: 100})
	n.testServer = serveRoom(t, room, ws.AcceptOptions{}, nil, ln)
}

// restart stops the node, closing its clients with 1001 as SIGTERM
// would, and starts it again on the same address.
func (n *node) restart(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, n.room.Close(ctx))
	n.Close()
	ln, err := net.Listen("tcp", n.Listener.Addr().String())
	require.NoError(t, err)
	n.start(t, ln)
}

// tab is a client that behaves as the page does: it remembers the epoch
// and the last seq it saw, resumes from them, and on a reset replaces
// what it shows.
type tab struct {
	t     *testing.T
	base  string // the node's ws:// URL
	name  string
	conn  *ws.Conn
	epoch string
	last  uint64
	shown []wire // the sequenced messages on the page, in order
	twice []wire // sequenced messages received again
	notes []wire // missed and restarted notices
	id    string // from the latest welcome
}

// openTab connects a new page to base, a ws:// URL, and reads until its
// own join.
func openTab(t *testing.T, base, name string) *tab {
	t.Helper()
	tb := &tab{t: t, base: base, name: name}
	tb.connect()
	return tb
}

// connect dials, resuming if the tab has seen anything, and reads until
// the tab's own join.
func (tb *tab) connect() {
	tb.t.Helper()
	q := url.Values{"name": {tb.name}}
	if tb.last > 0 {
		q.Set("since", fmt.Sprint(tb.last))
		q.Set("epoch", tb.epoch)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, _, err := ws.Dial(ctx, tb.base+"?"+q.Encode(), nil)
	require.NoError(tb.t, err)
	tb.t.Cleanup(func() { c.CloseNow() })
	tb.conn = c
	for {
		m, err := tb.next(ctx)
		require.NoError(tb.t, err)
		if m.Type == typeJoin && m.ID == tb.id {
			return
		}
	}
}

// next reads one message and does with it what the page does.
func (tb *tab) next(ctx context.Context) (wire, error) {
	m, err := readWire(ctx, tb.conn)
	if err != nil {
		return m, err
	}
	switch {
	case m.Type == typeWelcome:
		if m.Epoch != tb.epoch || m.Last < tb.last {
			tb.last = 0
		}
		tb.epoch, tb.id = m.Epoch, m.ID
	case m.Type == typeRestarted:
		tb.last, tb.shown = 0, nil
		tb.notes = append(tb.notes, m)
	case m.Type == typeMissed:
		tb.notes = append(tb.notes, m)
	case m.Seq > 0 && m.Seq <= tb.last:
		tb.twice = append(tb.twice, m)
	case m.Seq > 0:
		tb.last = m.Seq
		tb.shown = append(tb.shown, m)
	}
	return m, nil
}

// until reads until done says so, or the connection fails.
func (tb *tab) until(ctx context.Context, done func(wire) bool) error {
	for {
		m, err := tb.next(ctx)
		if err != nil {
			return err
		}
		if done(m) {
			return nil
		}
	}
}

// untilClosed reads until the connection ends, and returns why.
func (tb *tab) untilClosed() error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return tb.until(ctx, func(wire) bool { return false })
}

// messagesAfter returns the texts of the chat messages shown after seq.
func (tb *tab) messagesAfter(seq uint64) []string {
	var texts []string
	for _, m := range tb.shown {
		if m.Seq > seq && m.Type == typeMessage {
			texts = append(texts, m.Text)
		}
	}
	return texts
}

// seqsAfter returns the seqs shown after seq.
func (tb *tab) seqsAfter(seq uint64) []uint64 {
	var seqs []uint64
	for _, m := range tb.shown {
		if m.Seq > seq {
			seqs = append(seqs, m.Seq)
		}
	}
	return seqs
}

// say sends a chat message.
func (tb *tab) say(ctx context.Context, text string) error {
	return writeCommand(ctx, tb.conn, command{Type: cmdSend, Text: text})
}

// exchange has every sender say each messages, all at once, and every
// reader read until it has seen all of them; it returns the texts in
// the order they were sent by each sender, keyed by text.
func exchange(t *testing.T, senders, readers []*tab, each int, round string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	want := make(map[string]bool)
	for i := range senders {
		for n := range each {
			want[fmt.Sprintf("%s %d/%d", round, i, n)] = true
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(senders)+len(readers))
	for _, r := range readers {
		wg.Go(func() {
			got := 0
			err := r.until(ctx, func(m wire) bool {
				if m.Type == typeMessage && want[m.Text] {
					got++
				}
				return got == len(want)
			})
			if err != nil {
				errs <- fmt.Errorf("%s: read: %w (got %d of %d)", r.name, err, got, len(want))
			}
		})
	}
	for i, s := range senders {
		wg.Go(func() {
			for n := range each {
				if err := s.say(ctx, fmt.Sprintf("%s %d/%d", round, i, n)); err != nil {
					errs <- fmt.Errorf("%s: write: %w", s.name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// requireSameOrder checks that every tab shows one order of sequenced
// messages after seq, without a gap, and nothing twice.
func requireSameOrder(t *testing.T, tabs []*tab, after uint64) {
	t.Helper()
	first := tabs[0].seqsAfter(after)
	require.NotEmpty(t, first)
	for i, s := range first {
		require.Equal(t, after+uint64(i)+1, s, "%s: contiguous from %d", tabs[0].name, after+1)
	}
	for _, tb := range tabs {
		assert.Equal(t, first, tb.seqsAfter(after), "%s: the same seqs", tb.name)
		assert.Equal(t, tabs[0].messagesAfter(after), tb.messagesAfter(after), "%s: the same order", tb.name)
		assert.Empty(t, tb.twice, "%s: nothing twice", tb.name)
	}
}

// maxLast returns the latest seq any tab has seen.
func maxLast(tabs []*tab) uint64 {
	var last uint64
	for _, tb := range tabs {
		last = max(last, tb.last)
	}
	return last
}

// openTabs opens perNode tabs on each node, one after another.
func openTabs(t *testing.T, nodes []*node, perNode int) []*tab {
	var tabs []*tab
	for i := range perNode {
		for j, n := range nodes {
			tabs = append(tabs, openTab(t, n.wsURL(""), fmt.Sprintf("n%d-%d", j, i)))
		}
	}
	return tabs
}

// TestNodesOrder runs three nodes on one Redis with 30 clients spread
// over them, every one sending: every client receives every message,
// in one order, without a gap.
func TestNodesOrder(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	nodes := []*node{startNode(t, srv.URL(), nil), startNode(t, srv.URL(), nil), startNode(t, srv.URL(), nil)}
	tabs := openTabs(t, nodes, 10)
	// Every join is in the log by now: start counting after the last.
	start := maxLast(tabs)
	exchange(t, tabs, tabs, 5, "m")
	requireSameOrder(t, tabs, start)
	assert.Len(t, tabs[0].seqsAfter(start), 150, "30 clients × 5, and nothing else")
}

// TestNodesSubscriptionKilled kills one node's pub/sub connection and
// keeps it from reconnecting while the others talk: when it is back,
// its clients get what they missed, in order.
func TestNodesSubscriptionKilled(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	admin := redisAdmin(t, srv)
	// Node a logs in as its own user, so that the test can shut it out.
	do(t, admin, "ACL", "SETUSER", "node-a", "on", ">pw", "~*", "&*", "+@all")
	a := startNode(t, "unix://node-a:pw@"+srv.Socket, nil)
	b := startNode(t, srv.URL(), nil)
	c := startNode(t, srv.URL(), nil)
	tabs := openTabs(t, []*node{a, b, c}, 3)
	onA, others := []*tab{tabs[0], tabs[3], tabs[6]}, []*tab{tabs[1], tabs[2], tabs[4], tabs[5], tabs[7], tabs[8]}
	start := maxLast(tabs)
	exchange(t, tabs, tabs, 3, "before")

	do(t, admin, "ACL", "SETUSER", "node-a", "off")
	require.Equal(t, int64(1), do(t, admin, "CLIENT", "KILL", "USER", "node-a", "TYPE", "pubsub").Int)
	// While a cannot resubscribe, the others talk among themselves.
	exchange(t, others, others, 3, "meanwhile")
	assert.Zero(t, a.broker.fromLog.Load(), "a has not caught up yet")
	do(t, admin, "ACL", "SETUSER", "node-a", "on")
	// a catches up from the log, and the talk goes on.
	exchange(t, tabs, tabs, 3, "after")
	assert.GreaterOrEqual(t, a.broker.fromLog.Load(), uint64(6*3), "what a missed came from the log")
	requireSameOrder(t, tabs, start)
	for _, tb := range onA {
		assert.Len(t, tb.messagesAfter(start), 9*3+6*3+9*3, "%s: everything", tb.name)
	}
}

// TestNodesRestart restarts a node while the others talk: its pages
// reconnect, resume where they were, and miss nothing and see nothing
// twice.
func TestNodesRestart(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	a, b := startNode(t, srv.URL(), nil), startNode(t, srv.URL(), nil)
	tabs := openTabs(t, []*node{a, b}, 3)
	onA, onB := []*tab{tabs[0], tabs[2], tabs[4]}, []*tab{tabs[1], tabs[3], tabs[5]}
	start := maxLast(tabs)
	exchange(t, tabs, tabs, 3, "before")

	// a's pages read on while it stops, so that its closing handshakes
	// complete.
	closed := make([]chan error, len(onA))
	for i, tb := range onA {
		closed[i] = make(chan error, 1)
		go func() { closed[i] <- tb.untilClosed() }()
	}
	a.restart(t)
	for i, tb := range onA {
		err := <-closed[i]
		var ce *ws.CloseError
		require.ErrorAs(t, err, &ce, "%s", tb.name)
		assert.Equal(t, ws.StatusGoingAway, ce.Code)
	}
	// Pages on b talk while a's pages are away.
	exchange(t, onB, onB, 3, "meanwhile")
	for _, tb := range onA {
		tb.connect()
		assert.Empty(t, tb.notes, "%s: resumed without a notice", tb.name)
	}
	exchange(t, tabs, tabs, 3, "after")
	for _, tb := range tabs {
		seqs := tb.seqsAfter(start)
		for i, s := range seqs {
			require.Equal(t, start+uint64(i)+1, s, "%s: nothing missing", tb.name)
		}
		assert.Empty(t, tb.twice, "%s: nothing twice", tb.name)
		assert.Len(t, tb.messagesAfter(start), 6*3+3*3+6*3, "%s: every message", tb.name)
	}
	requireSameOrder(t, onB, start)
}

// TestNodesRedisLost restarts Redis without its data. While it is down,
// a send fails with an error to the sender; once it is back, every page
// is told that the history was reset, shows the new history, and the
// talk goes on in one order.
func TestNodesRedisLost(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	a, b := startNode(t, srv.URL(), nil), startNode(t, srv.URL(), nil)
	tabs := openTabs(t, []*node{a, b}, 2)
	exchange(t, tabs, tabs, 2, "before")
	oldEpoch := tabs[0].epoch

	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for _, tb := range tabs[:2] { // one on each node
		require.NoError(t, tb.say(ctx, "into the void"))
		var reply wire
		require.NoError(t, tb.until(ctx, func(m wire) bool { reply = m; return m.Type == typeError }))
		assert.Equal(t, errUnavailable, reply.Code, "%s", tb.name)
		assert.Contains(t, reply.Text, "Not sent", "%s", tb.name)
	}

	srv.Start()
	for _, tb := range tabs {
		err := tb.untilClosed()
		var ce *ws.CloseError
		require.ErrorAs(t, err, &ce, "%s", tb.name)
		assert.Equal(t, ws.StatusTryAgainLater, ce.Code)
		assert.Equal(t, reasonReset, ce.Reason)
	}
	for _, tb := range tabs {
		tb.connect()
		assert.NotEqual(t, oldEpoch, tb.epoch, "%s: a new epoch", tb.name)
		require.Len(t, tb.notes, 1, "%s: one notice", tb.name)
		assert.Equal(t, typeRestarted, tb.notes[0].Type)
		for _, m := range tb.shown {
			assert.NotEqual(t, "into the void", m.Text)
		}
	}
	start := maxLast(tabs)
	exchange(t, tabs, tabs, 2, "after")
	requireSameOrder(t, tabs, start)
}

// TestNodesBehindNginx puts two nodes behind nginx: the page and
// WebSocket upgrades pass the proxy, connections spread over both
// nodes, and the talk is one room.
func TestNodesBehindNginx(t *testing.T) {
	t.Parallel()
	srv := testpeer.StartRedis(t, nil)
	a, b := startNode(t, srv.URL(), nil), startNode(t, srv.URL(), nil)
	proxy := testpeer.StartNginx(t, []string{a.Listener.Addr().String(), b.Listener.Addr().String()})

	resp, err := (&http.Client{}).Get(proxy.URL() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "connect-src 'self'")

	wsURL := "ws://" + proxy.Addr + "/ws"
	var tabs []*tab
	for i := range 6 {
		tabs = append(tabs, openTab(t, wsURL, fmt.Sprint("p", i)))
	}
	for _, n := range []*node{a, b} {
		n.room.mu.Lock()
		live := len(n.room.live)
		n.room.mu.Unlock()
		assert.Equal(t, 3, live, "round robin: half the clients on each node")
	}
	start := maxLast(tabs)
	exchange(t, tabs, tabs, 3, "m")
	requireSameOrder(t, tabs, start)
}
