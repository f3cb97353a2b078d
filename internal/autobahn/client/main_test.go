package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeFuzzingServer speaks the fuzzingserver's protocol: /getCaseCount,
// /runCase and /updateReports. Each case sends one message and checks
// that it comes back unchanged.
type fakeFuzzingServer struct {
	msgs []message

	handlers sync.WaitGroup

	mu      sync.Mutex
	echoed  map[int]bool
	updated []string // agents whose reports were updated
	errs    []error
}

type message struct {
	typ ws.MessageType
	p   []byte
}

func (s *fakeFuzzingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()
	c, err := ws.Accept(w, r, &ws.AcceptOptions{Config: ws.Config{ReadLimit: 1 << 30}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	switch r.URL.Path {
	case "/getCaseCount":
		c.Write(ctx, ws.MessageText, []byte(strconv.Itoa(len(s.msgs))))
	case "/runCase":
		n, err := strconv.Atoi(r.URL.Query().Get("case"))
		if err != nil || n < 1 || n > len(s.msgs) {
			s.fail(fmt.Errorf("bad case %q", r.URL.Query().Get("case")))
			break
		}
		m := s.msgs[n-1]
		if err := c.Write(ctx, m.typ, m.p); err != nil {
			s.fail(err)
			break
		}
		typ, p, err := c.Read(ctx)
		s.mu.Lock()
		s.echoed[n] = err == nil && typ == m.typ && bytes.Equal(p, m.p)
		s.mu.Unlock()
	case "/updateReports":
		s.mu.Lock()
		s.updated = append(s.updated, r.URL.Query().Get("agent"))
		s.mu.Unlock()
	}
	c.Close(ws.StatusNormalClosure, "")
}

func (s *fakeFuzzingServer) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

func TestRunAgainstFakeFuzzingServer(t *testing.T) {
	s := &fakeFuzzingServer{
		msgs: []message{
			{ws.MessageText, []byte("Hello-µ@ßöäüàá-UTF-8!!")},
			{ws.MessageBinary, bytes.Repeat([]byte{0xfe, 0x00}, 1<<19)},
			{ws.MessageText, nil},
		},
		echoed: map[int]bool{},
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	err := run(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), "test agent", 10*time.Second)
	require.NoError(t, err)
	s.handlers.Wait() // the handlers outlive the hijacked connections' HTTP side
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(t, s.errs)
	assert.Equal(t, map[int]bool{1: true, 2: true, 3: true}, s.echoed)
	assert.Equal(t, []string{"test agent"}, s.updated)
}
