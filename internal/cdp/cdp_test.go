package cdp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/cdp"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeBrowser answers a few made-up methods the way a DevTools endpoint
// answers real ones:
//
//	Echo      replies with its params as the result
//	Fail      replies with an error
//	Emit      sends Test.event with its params in the same session, then replies
//	Hold      {"of": n} holds its reply (its params) until n Holds have
//	          come, then answers them last first
//	Never     never replies
//	Hangup    closes the connection instead of replying
//	Target.attachToTarget replies with session "S-" + targetId
func fakeBrowser(t *testing.T) string {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer c.CloseNow()
		ctx := context.Background()
		send := func(v any) error {
			b, _ := json.Marshal(v)
			return c.Write(ctx, ws.MessageText, b)
		}
		var held []map[string]any
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var msg struct {
				ID        int64           `json:"id"`
				SessionID string          `json:"sessionId"`
				Method    string          `json:"method"`
				Params    json.RawMessage `json:"params"`
			}
			if err := json.Unmarshal(data, &msg); err != nil {
				return
			}
			reply := map[string]any{"id": msg.ID, "result": map[string]any{}}
			if msg.SessionID != "" {
				reply["sessionId"] = msg.SessionID
			}
			switch msg.Method {
			case "Echo":
				reply["result"] = msg.Params
			case "Fail":
				delete(reply, "result")
				reply["error"] = map[string]any{"code": -32601, "message": "'Fail' wasn't found"}
			case "Emit":
				ev := map[string]any{"method": "Test.event", "params": msg.Params}
				if msg.SessionID != "" {
					ev["sessionId"] = msg.SessionID
				}
				if send(ev) != nil {
					return
				}
			case "Hold":
				reply["result"] = msg.Params
				held = append(held, reply)
				var p struct{ Of int }
				json.Unmarshal(msg.Params, &p)
				if len(held) < p.Of {
					continue
				}
				for i := len(held) - 1; i > 0; i-- {
					send(held[i])
				}
				reply, held = held[0], nil
			case "Never":
				continue
			case "Hangup":
				c.Close(ws.StatusGoingAway, "bye")
				return
			case "Target.attachToTarget":
				var p struct{ TargetID string }
				json.Unmarshal(msg.Params, &p)
				reply["result"] = map[string]any{"sessionId": "S-" + p.TargetID}
			}
			if send(reply) != nil {
				return
			}
		}
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/devtools/browser/fake"
}

func dial(t *testing.T) *cdp.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := cdp.Dial(ctx, fakeBrowser(t))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCall(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx := testContext(t)

	var res struct {
		A int
		B []string
	}
	require.NoError(t, c.Call(ctx, "", "Echo", map[string]any{"A": 7, "B": []string{"x", "y"}}, &res))
	assert.Equal(t, 7, res.A)
	assert.Equal(t, []string{"x", "y"}, res.B)
	require.NoError(t, c.Call(ctx, "", "Echo", nil, nil), "no params, result ignored")

	err := c.Call(ctx, "", "Fail", nil, nil)
	var ce *cdp.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, -32601, ce.Code)
	assert.Equal(t, "'Fail' wasn't found", ce.Message)
	assert.Contains(t, err.Error(), "Fail")

	assert.Error(t, c.Call(ctx, "", "Echo", map[string]any{"f": func() {}}, nil), "params that cannot be encoded")
}

func TestCallsOutOfOrder(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx := testContext(t)
	const n = 5
	type result struct {
		i, got int
		err    error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var res struct{ N int }
			err := c.Call(ctx, "", "Hold", map[string]int{"N": i, "Of": n}, &res)
			results <- result{i, res.N, err}
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		require.NoError(t, r.err)
		assert.Equal(t, r.i, r.got, "each reply reaches its own call")
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx := testContext(t)
	s, err := c.Attach(ctx, "T1")
	require.NoError(t, err)
	assert.Equal(t, "S-T1", s.ID)

	var mu sync.Mutex
	var browser, session []string
	record := func(to *[]string) func(json.RawMessage) {
		return func(p json.RawMessage) {
			mu.Lock()
			*to = append(*to, string(p))
			mu.Unlock()
		}
	}
	removeBrowser := c.On("", "Test.event", record(&browser))
	s.On("Test.event", record(&session))

	wait := s.Expect("Test.event")
	require.NoError(t, s.Call(ctx, "Emit", map[string]int{"n": 1}, nil))
	p, err := wait(ctx)
	require.NoError(t, err)
	assert.JSONEq(t, `{"n":1}`, string(p))

	require.NoError(t, c.Call(ctx, "", "Emit", map[string]int{"n": 2}, nil))
	removeBrowser()
	require.NoError(t, c.Call(ctx, "", "Emit", map[string]int{"n": 3}, nil))

	// The reply to each Emit comes after its event, so by now every
	// handler has run.
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{`{"n":1}`}, session, "events go to their session")
	assert.Equal(t, []string{`{"n":2}`}, browser, "and stop once removed")
}

func TestCancelAndClose(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, c.Call(ctx, "", "Never", nil, nil), context.DeadlineExceeded)
	_, err := c.Expect("", "Nothing")(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	ctx = testContext(t)
	require.NoError(t, c.Call(ctx, "", "Echo", nil, nil), "a cancelled call leaves the client usable")

	wait := c.Expect("", "Never.sent")
	err = c.Call(ctx, "", "Hangup", nil, nil)
	assert.ErrorIs(t, err, cdp.ErrClosed)
	assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(err))
	<-c.Done()
	assert.ErrorIs(t, c.Err(), cdp.ErrClosed)
	_, err = wait(ctx)
	assert.ErrorIs(t, err, cdp.ErrClosed)
	assert.Error(t, c.Call(ctx, "", "Echo", nil, nil))
}
