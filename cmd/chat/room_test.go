package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collect reads from p until it has n chat messages, and returns them.
func (p *peer) collect(n int) ([]wire, error) {
	var got []wire
	for len(got) < n {
		m, err := p.tryRead()
		if err != nil {
			return got, err
		}
		if m.Type == typeMessage {
			got = append(got, m)
		}
	}
	return got, nil
}

func TestRoomOrder(t *testing.T) {
	t.Parallel()
	const publishers, listeners, each = 4, 3, 25
	r := newTestRoom(t, roomConfig{}, 1000)

	peers := make([]*peer, publishers+listeners)
	for i := range peers {
		peers[i] = join(t, r, joinRequest{Name: fmt.Sprint("p", i)})
		peers[i].welcome()
	}

	type result struct {
		i    int
		msgs []wire
		err  error
	}
	results := make(chan result, len(peers))
	sendErrs := make(chan error, publishers)
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() {
			msgs, err := p.collect(publishers * each)
			results <- result{i, msgs, err}
		})
	}
	for i, p := range peers[:publishers] {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			for n := range each {
				if err := writeCommand(ctx, p.conn, command{Type: cmdSend, Text: fmt.Sprintf("%d/%d", i, n)}); err != nil {
					sendErrs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(results)
	close(sendErrs)
	for err := range sendErrs {
		require.NoError(t, err)
	}

	var first []wire
	for res := range results {
		require.NoError(t, res.err, "peer %d", res.i)
		require.Len(t, res.msgs, publishers*each)
		if first == nil {
			first = res.msgs
			continue
		}
		assert.Equal(t, first, res.msgs, "peer %d saw another order", res.i)
	}
	// Sequence numbers rise, and each sender's messages keep the order
	// it sent them in.
	next := make(map[string]int)
	for i, m := range first {
		if i > 0 {
			assert.Greater(t, m.Seq, first[i-1].Seq)
		}
		sender, n, ok := strings.Cut(m.Text, "/")
		require.True(t, ok, m.Text)
		assert.Equal(t, fmt.Sprint(next[sender]), n, "sender %s out of order", sender)
		next[sender]++
	}
}

func TestRoomJoinLeaveRename(t *testing.T) {
	t.Parallel()
	r := newTestRoom(t, roomConfig{}, 100)

	a := join(t, r, joinRequest{Name: "Ann"})
	wa := a.welcome()
	assert.Equal(t, "Ann", wa.Name)
	assert.Len(t, wa.ID, 8)
	assert.Empty(t, wa.Users)

	b := join(t, r, joinRequest{Name: "  Bob  "})
	wb := b.welcome()
	assert.Equal(t, "Bob", wb.Name, "the name is trimmed")
	assert.Equal(t, []user{{ID: wa.ID, Name: "Ann"}}, wb.Users)
	j := a.read()
	assert.Equal(t, wire{Type: typeJoin, Seq: 2, Time: j.Time, ID: wb.ID, Name: "Bob"}, j)
	assert.NotEmpty(t, j.Time)

	b.send(command{Type: cmdRename, Name: "Robert"})
	for _, p := range []*peer{a, b} {
		m := p.read()
		assert.Equal(t, typeRename, m.Type)
		assert.Equal(t, wb.ID, m.ID)
		assert.Equal(t, "Robert", m.Name)
		assert.Equal(t, "Bob", m.Old)
	}
	b.say("hi")
	for _, p := range []*peer{a, b} {
		m := p.read()
		assert.Equal(t, typeMessage, m.Type)
		assert.Equal(t, "Robert", m.Name, "messages carry the new name")
		assert.Equal(t, "hi", m.Text)
	}

	require.NoError(t, b.conn.Close(ws.StatusNormalClosure, "bye"))
	m := a.read()
	assert.Equal(t, typeLeave, m.Type)
	assert.Equal(t, wb.ID, m.ID)
	assert.Equal(t, "Robert", m.Name)
	assert.Equal(t, "left", m.Reason)

	c := join(t, r, joinRequest{Name: "\x07bell"})
	wc := c.welcome()
	assert.Equal(t, "guest-"+wc.ID[:4], wc.Name, "an unusable name is replaced")
	assert.Equal(t, []user{{ID: wa.ID, Name: "Ann"}}, wc.Users, "Bob has left")
}

func TestRoomSlowConsumer(t *testing.T) {
	t.Parallel()
	const n = 50
	r := newTestRoom(t, roomConfig{Queue: 8, WriteTimeout: time.Minute}, 100)

	// slow never reads, not even its welcome, until the end. fast sees
	// each of the others join, so that both are members before the
	// messages start: one that joined later would take them as its
	// backlog, which its queue has room for.
	fast := join(t, r, joinRequest{Name: "fast"})
	fast.welcome()
	slow := join(t, r, joinRequest{Name: "slow"})
	require.Equal(t, "slow", fast.readType(typeJoin).Name)
	other := join(t, r, joinRequest{Name: "other"})
	other.welcome()
	require.Equal(t, "other", fast.readType(typeJoin).Name)

	// fast sends each message when fast and other have received the one
	// before, so that neither falls behind: only slow does.
	texts := map[*peer][]string{}
	left := map[*peer]wire{}
	for i := range n {
		fast.say(fmt.Sprint(i))
		for _, p := range []*peer{fast, other} {
			for {
				m := p.read()
				if m.Type == typeLeave {
					left[p] = m
				}
				if m.Type == typeMessage {
					texts[p] = append(texts[p], m.Text)
					break
				}
			}
		}
	}
	// slow fell behind within its queue's 8 messages; the news of its
	// leaving, published by its own goroutine, may still be on its way.
	for _, p := range []*peer{fast, other} {
		for left[p].Type != typeLeave {
			left[p] = p.readType(typeLeave)
		}
	}
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	for _, p := range []*peer{fast, other} {
		assert.Equal(t, want, texts[p], "every message, in order")
		assert.Equal(t, "slow", left[p].Name, "slow was dropped while the others went on")
		assert.Equal(t, reasonTooSlow, left[p].Reason)
	}

	// Now slow reads: the message its writer was stuck on, then the close.
	var err error
	for err == nil {
		_, err = slow.tryRead()
	}
	var ce *ws.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ws.StatusTryAgainLater, ce.Code)
	assert.Equal(t, reasonTooSlow, ce.Reason)
}

func TestRoomHistory(t *testing.T) {
	t.Parallel()
	// History 3; the broker keeps 5 messages for resuming pages.
	r := newTestRoom(t, roomConfig{History: 3}, 5)
	a := join(t, r, joinRequest{Name: "a"}) // join: seq 1
	a.welcome()
	for i := range 6 { // seq 2…7
		a.say(fmt.Sprint("m", i))
		a.readType(typeMessage)
	}
	// arrive joins a peer and reads its welcome, any notice, its history
	// and its own join; then it waits until a has seen that
	// join, so that it is the room's latest message for the next peer.
	arrive := func(req joinRequest) (w, note wire, history []uint64) {
		t.Helper()
		p := join(t, r, req)
		w = p.read()
		require.Equal(t, typeWelcome, w.Type)
		for {
			m := p.read()
			if m.Type == typeJoin && m.ID == w.ID {
				break
			}
			if m.Seq == 0 {
				note = m
				continue
			}
			history = append(history, m.Seq)
		}
		require.Equal(t, w.ID, a.readType(typeJoin).ID)
		return w, note, history
	}

	w, note, history := arrive(joinRequest{Name: "b"}) // join: seq 8
	assert.Equal(t, uint64(7), w.Last)
	assert.Empty(t, note.Type)
	assert.Equal(t, []uint64{5, 6, 7}, history, "a newcomer gets the latest History messages")

	w, note, history = arrive(joinRequest{Name: "c", Since: 4, HasSince: true}) // seq 9
	assert.Equal(t, uint64(8), w.Last)
	assert.Empty(t, note.Type)
	assert.Equal(t, []uint64{5, 6, 7, 8}, history, "a resuming page gets exactly what it missed")

	w, note, history = arrive(joinRequest{Name: "d", Since: 9, HasSince: true}) // seq 10
	assert.Equal(t, uint64(9), w.Last)
	assert.Empty(t, note.Type)
	assert.Empty(t, history, "nothing missed")

	// The broker holds 6…10 now: 3…5 are gone.
	w, note, history = arrive(joinRequest{Name: "e", Since: 2, HasSince: true}) // seq 11
	assert.Equal(t, uint64(10), w.Last)
	assert.Equal(t, wire{Type: typeMissed, After: 2, First: 8, Text: note.Text}, note)
	assert.NotEmpty(t, note.Text)
	assert.Equal(t, []uint64{8, 9, 10}, history, "too late to resume: the usual history")

	w, note, history = arrive(joinRequest{Name: "f", Since: 500, HasSince: true}) // seq 12
	assert.Equal(t, uint64(11), w.Last)
	assert.Equal(t, wire{Type: typeRestarted, After: 500, Text: note.Text}, note)
	assert.Equal(t, []uint64{9, 10, 11}, history, "ahead of the room: the usual history")
}

func TestRoomNoHistory(t *testing.T) {
	t.Parallel()
	r := newTestRoom(t, roomConfig{History: 0}, 10)
	a := join(t, r, joinRequest{})
	a.welcome()
	a.say("before")
	a.readType(typeMessage)
	b := join(t, r, joinRequest{})
	w := b.read()
	assert.Equal(t, uint64(2), w.Last)
	assert.Equal(t, typeJoin, b.read().Type, "no history before the join")
}

func TestRoomLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 5) // 10 bytes
	tests := []struct {
		name     string
		cmd      []byte
		binary   bool
		wantCode string // "" means accepted
	}{
		{"at the limit", cmdJSON(command{Type: cmdSend, Text: "0123456789"}), false, ""},
		{"at the limit in bytes", cmdJSON(command{Type: cmdSend, Text: long}), false, ""},
		{"trimmed to the limit", cmdJSON(command{Type: cmdSend, Text: "  0123456789\n"}), false, ""},
		{"one byte over", cmdJSON(command{Type: cmdSend, Text: "0123456789a", Ref: "r1"}), false, errTooLong},
		{"over in bytes", cmdJSON(command{Type: cmdSend, Text: long + "x", Ref: "r2"}), false, errTooLong},
		{"empty", cmdJSON(command{Type: cmdSend, Text: " \t "}), false, errEmpty},
		{"not JSON", []byte("hello"), false, errBadRequest},
		{"binary", []byte(`{"type":"send","text":"x"}`), true, errBadRequest},
		{"unknown type", cmdJSON(command{Type: "shout", Text: "x"}), false, errBadRequest},
		{"empty name", cmdJSON(command{Type: cmdRename, Name: "  "}), false, errBadName},
		{"long name", cmdJSON(command{Type: cmdRename, Name: strings.Repeat("n", maxName+1)}), false, errBadName},
		{"control in name", cmdJSON(command{Type: cmdRename, Name: "a\nb"}), false, errBadName},
		{"bidi override in name", cmdJSON(command{Type: cmdRename, Name: "a\u202eb"}), false, errBadName},
		{"longest name", cmdJSON(command{Type: cmdRename, Name: strings.Repeat("ñ", maxName)}), false, ""},
	}
	r := newTestRoom(t, roomConfig{MaxMessage: 10}, 100)
	p := join(t, r, joinRequest{})
	p.welcome()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := ws.MessageText
			if tc.binary {
				typ = ws.MessageBinary
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			require.NoError(t, p.conn.Write(ctx, typ, tc.cmd))
			m := p.read()
			if tc.wantCode == "" {
				assert.NotEqual(t, typeError, m.Type, m.Text)
				return
			}
			assert.Equal(t, typeError, m.Type)
			assert.Equal(t, tc.wantCode, m.Code)
			assert.NotEmpty(t, m.Text)
			var cmd command
			if json.Valid(tc.cmd) {
				json.Unmarshal(tc.cmd, &cmd)
			}
			assert.Equal(t, cmd.Ref, m.Ref, "the reply names the command")
		})
	}
}

func TestRoomRateLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	r := newTestRoom(t, roomConfig{Rate: 2, Burst: 3, now: clock.now}, 100)
	p := join(t, r, joinRequest{})
	p.welcome()
	other := join(t, r, joinRequest{})
	other.welcome()
	p.readType(typeJoin)

	for i := range 3 {
		p.say(fmt.Sprint("burst ", i))
		assert.Equal(t, typeMessage, p.read().Type, "a burst of 3 is allowed")
	}
	p.send(command{Type: cmdSend, Text: "one too many", Ref: "x"})
	m := p.read()
	assert.Equal(t, typeError, m.Type)
	assert.Equal(t, errRateLimited, m.Code)
	assert.Equal(t, "x", m.Ref)
	assert.Equal(t, int64(500), m.RetryMS, "one token takes 1/rate seconds")

	clock.advance(500 * time.Millisecond)
	p.say("after a pause")
	m = p.read()
	assert.Equal(t, typeMessage, m.Type)
	assert.Equal(t, "after a pause", m.Text)

	// The refused message never reached anyone: other sees the burst and
	// the one after the pause, nothing else.
	var texts []string
	for len(texts) < 4 {
		if m := other.read(); m.Type == typeMessage {
			texts = append(texts, m.Text)
		}
	}
	assert.Equal(t, []string{"burst 0", "burst 1", "burst 2", "after a pause"}, texts)
}

func TestRoomShutdown(t *testing.T) {
	t.Parallel()
	b := newMemBroker(10)
	r, err := newRoom(b, roomConfig{Logger: testLogger(t)})
	require.NoError(t, err)

	const n = 3
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		p := join(t, r, joinRequest{Name: fmt.Sprint("p", i)})
		p.welcome()
		wg.Go(func() {
			var err error
			for err == nil {
				_, err = p.tryRead()
			}
			errs <- err
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, r.Close(ctx))
	wg.Wait()
	close(errs)
	for err := range errs {
		var ce *ws.CloseError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, ws.StatusGoingAway, ce.Code)
		assert.Equal(t, reasonShutdown, ce.Reason)
	}

	late := join(t, r, joinRequest{})
	_, err = late.tryRead()
	assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(err), "a closed room turns newcomers away")
	assert.True(t, errors.Is(r.Close(ctx), errRoomClosed))
}

func TestRoomFull(t *testing.T) {
	t.Parallel()
	r := newTestRoom(t, roomConfig{MaxClients: 1}, 10)
	a := join(t, r, joinRequest{})
	a.welcome()
	b := join(t, r, joinRequest{})
	_, err := b.tryRead()
	var ce *ws.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ws.StatusTryAgainLater, ce.Code)
	assert.Equal(t, reasonFull, ce.Reason)
}

func cmdJSON(cmd command) []byte { return encode(cmd) }
