// Package cdp implements a small Chrome DevTools Protocol client over
// package ws: commands with ids and their replies, and events, on the
// browser's DevTools WebSocket. Talking to Chromium this way also tests
// our WebSocket client against another implementation's server.
//
// It speaks the flat session mode: a command for a page carries the
// session id that Target.attachToTarget returned (see [Client.Attach]),
// and so do the page's events.
//
// Only what tests need is here: there are no generated types, and params
// and results are whatever encoding/json makes of the caller's values.
package cdp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/ab7c482b/websocket/ws"
)

// readLimit bounds one message from the browser; a full-page screenshot
// in base64 is the largest thing a test asks for.
const readLimit = 64 << 20

// Error is an error reply from the browser.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("cdp: %s (%d)", e.Message, e.Code)
	if e.Data != "" {
		s += ": " + e.Data
	}
	return s
}

// ErrClosed is returned by calls on a closed client.
var ErrClosed = errors.New("cdp: connection closed")

// message is any message on the wire, in either direction.
type message struct {
	ID        int64           `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *Error          `json:"error,omitempty"`
}

// A Client is a connection to a browser's DevTools endpoint. It is safe
// for concurrent use: any number of goroutines may Call at once.
type Client struct {
	conn *ws.Conn
	done chan struct{} // closed when the read loop ends
	err  error         // why it ended; set before done closes

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan<- message
	handlers map[handlerKey][]*handler
}

type handlerKey struct{ session, method string }

type handler struct{ fn func(params json.RawMessage) }

// Dial connects to a DevTools WebSocket URL, such as the one Chromium
// prints as "DevTools listening on ws://…". ctx bounds the handshake only.
func Dial(ctx context.Context, url string) (*Client, error) {
	conn, _, err := ws.Dial(ctx, url, &ws.DialOptions{Config: ws.Config{ReadLimit: readLimit}})
	if err != nil {
		return nil, fmt.Errorf("cdp: dial: %w", err)
	}
	c := &Client{
		conn:     conn,
		done:     make(chan struct{}),
		pending:  make(map[int64]chan<- message),
		handlers: make(map[handlerKey][]*handler),
	}
	go c.readLoop()
	return c, nil
}

// Call sends a command and waits for its reply; sessionID is "" for the
// browser itself. params, if not nil, is encoded as the command's
// params; result, if not nil, receives the reply's result. A refusal from
// the browser is an [*Error]. If ctx ends first, Call returns ctx.Err()
// and the reply, when it comes, is dropped.
func (c *Client) Call(ctx context.Context, sessionID, method string, params, result any) error {
	msg := message{SessionID: sessionID, Method: method}
	if params != nil {
		p, err := json.Marshal(params)
		if err != nil {
			return fmt.Errorf("cdp: %s: params: %w", method, err)
		}
		msg.Params = p
	}
	reply := make(chan message, 1)
	c.mu.Lock()
	c.nextID++
	msg.ID = c.nextID
	c.pending[msg.ID] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, msg.ID)
		c.mu.Unlock()
	}()

	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("cdp: %s: %w", method, err)
	}
	if err := c.conn.Write(ctx, ws.MessageText, b); err != nil {
		return fmt.Errorf("cdp: %s: %w", method, err)
	}
	select {
	case r := <-reply:
		if r.Error != nil {
			return fmt.Errorf("%s: %w", method, r.Error)
		}
		if result != nil {
			if err := json.Unmarshal(r.Result, result); err != nil {
				return fmt.Errorf("cdp: %s: result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return fmt.Errorf("cdp: %s: %w", method, c.err)
	}
}

// On calls fn with the params of every event named method from the
// session (or from the browser, for ""), until the returned function is
// called. fn runs on the goroutine that reads the connection: it must
// return quickly and must not Call, which would wait for that goroutine.
// Hand the work to another goroutine instead.
func (c *Client) On(sessionID, method string, fn func(params json.RawMessage)) (remove func()) {
	h := &handler{fn}
	k := handlerKey{sessionID, method}
	c.mu.Lock()
	c.handlers[k] = append(c.handlers[k], h)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		hs := c.handlers[k]
		for i := range hs {
			if hs[i] == h {
				c.handlers[k] = append(hs[:i:i], hs[i+1:]...)
				break
			}
		}
	}
}

// Expect subscribes to the next event named method from the session (or
// the browser, for "") and returns a function that waits for it and
// returns its params. Call Expect before the command that causes the
// event, so that it cannot slip by.
func (c *Client) Expect(sessionID, method string) (wait func(ctx context.Context) (json.RawMessage, error)) {
	got := make(chan json.RawMessage, 1)
	var once sync.Once
	remove := c.On(sessionID, method, func(params json.RawMessage) {
		once.Do(func() { got <- params })
	})
	return func(ctx context.Context) (json.RawMessage, error) {
		defer remove()
		select {
		case p := <-got:
			return p, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("cdp: waiting for %s: %w", method, ctx.Err())
		case <-c.done:
			return nil, fmt.Errorf("cdp: waiting for %s: %w", method, c.err)
		}
	}
}

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is open.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the connection with a closing handshake and waits for the
// reading goroutine to end.
func (c *Client) Close() error {
	err := c.conn.Close(ws.StatusNormalClosure, "")
	<-c.done
	return err
}

func (c *Client) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = fmt.Errorf("%w: %w", ErrClosed, err)
			c.conn.CloseNow()
			return
		}
		var msg message
		if err := json.Unmarshal(data, &msg); err != nil {
			continue // not ours to fail on; a test would see the missing reply
		}
		c.mu.Lock()
		if msg.ID != 0 {
			if reply := c.pending[msg.ID]; reply != nil {
				reply <- msg
			}
			c.mu.Unlock()
			continue
		}
		hs := c.handlers[handlerKey{msg.SessionID, msg.Method}]
		c.mu.Unlock()
		for _, h := range hs {
			h.fn(msg.Params)
		}
	}
}

// A Session is a Client bound to one attached target, such as a page.
// Like its Client, it is safe for concurrent use.
type Session struct {
	c  *Client
	ID string
}

// Attach attaches to a target in flat mode and returns its session.
func (c *Client) Attach(ctx context.Context, targetID string) (*Session, error) {
	var res struct {
		SessionID string `json:"sessionId"`
	}
	err := c.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": targetID, "flatten": true}, &res)
	if err != nil {
		return nil, err
	}
	return &Session{c: c, ID: res.SessionID}, nil
}

// Call sends a command to the session's target; see Client.Call.
func (s *Session) Call(ctx context.Context, method string, params, result any) error {
	return s.c.Call(ctx, s.ID, method, params, result)
}

// On subscribes to the session's events; see Client.On.
func (s *Session) On(method string, fn func(params json.RawMessage)) (remove func()) {
	return s.c.On(s.ID, method, fn)
}

// Expect waits for the session's next event named method; see
// Client.Expect.
func (s *Session) Expect(method string) (wait func(ctx context.Context) (json.RawMessage, error)) {
	return s.c.Expect(s.ID, method)
}
