package ws_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNetConnCopy streams bytes through NetConn both ways with io.Copy:
// the client copies a stream up, the server copies it back down.
func TestNetConnCopy(t *testing.T) {
	t.Parallel()
	srv, cli := pipePair(t, nil, nil)
	snc := srv.NetConn(t.Context(), ws.MessageBinary)
	cnc := cli.NetConn(t.Context(), ws.MessageBinary)
	data := binaryOfSize(300 << 10)

	var wg sync.WaitGroup
	echoed := make(chan error, 1)
	wg.Go(func() {
		_, err := io.Copy(snc, snc) // ends at the client's normal close
		echoed <- err
	})
	sent := make(chan error, 1)
	wg.Go(func() {
		// Hide bytes.Reader's WriteTo so that io.Copy writes in chunks.
		_, err := io.Copy(cnc, struct{ io.Reader }{bytes.NewReader(data)})
		sent <- err
	})
	got := make([]byte, len(data))
	_, err := io.ReadFull(cnc, got)
	require.NoError(t, err)
	assert.Equal(t, data, got)
	require.NoError(t, <-sent)
	require.NoError(t, cnc.Close())
	require.NoError(t, <-echoed)
	wg.Wait()
}

// TestNetConnStream checks that Read joins messages into one stream,
// whatever the size of the reads, and ends with io.EOF at a normal close.
func TestNetConnStream(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"whole", "one byte at a time"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				srv, cli := pipePair(t, nil, nil)
				done := make(chan error, 1)
				go func() {
					for _, m := range []string{"ab", "", "cde", "f"} {
						if err := cli.Write(context.Background(), ws.MessageBinary, []byte(m)); err != nil {
							done <- err
							return
						}
					}
					done <- cli.Close(ws.StatusNormalClosure, "")
				}()
				var r io.Reader = srv.NetConn(t.Context(), ws.MessageBinary)
				if name != "whole" {
					r = iotest.OneByteReader(r)
				}
				got, err := io.ReadAll(r) // io.ReadAll stops at io.EOF
				require.NoError(t, err)
				assert.Equal(t, "abcdef", string(got))
				require.NoError(t, <-done)
			})
		})
	}
}

// TestNetConnClose checks how the peer's close code reaches a NetConn
// reader: a normal close is io.EOF, anything else an error.
func TestNetConnClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code    ws.StatusCode
		wantEOF bool
	}{
		{ws.StatusNormalClosure, true},
		{ws.StatusGoingAway, true},
		{ws.StatusInternalError, false},
		{4000, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				srv, cli := pipePair(t, nil, nil)
				done := make(chan error, 1)
				go func() { done <- cli.Close(tc.code, "") }()
				nc := srv.NetConn(t.Context(), ws.MessageBinary)
				_, err := nc.Read(make([]byte, 10))
				if tc.wantEOF {
					assert.Equal(t, io.EOF, err)
				} else {
					assert.NotErrorIs(t, err, io.EOF)
					assert.Equal(t, tc.code, ws.CloseStatus(err))
				}
				require.NoError(t, <-done)
			})
		})
	}
}

// TestNetConnDeadline checks the deadlines a net.Conn promises: one in
// the past fails at once, one that passes while blocked interrupts the
// call, both with an error that is os.ErrDeadlineExceeded and a timeout;
// clearing the deadline makes the connection usable again.
func TestNetConnDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv, cli := pipePair(t, nil, nil)
		nc := srv.NetConn(t.Context(), ws.MessageBinary)
		checkTimeout := func(err error) {
			t.Helper()
			assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
			var ne net.Error
			if assert.True(t, errors.As(err, &ne), "%T is a net.Error", err) {
				assert.True(t, ne.Timeout())
			}
		}
		buf := make([]byte, 10)

		require.NoError(t, nc.SetReadDeadline(time.Now().Add(-time.Second)))
		_, err := nc.Read(buf)
		checkTimeout(err)
		require.NoError(t, nc.SetWriteDeadline(time.Now().Add(-time.Second)))
		_, err = nc.Write([]byte("x"))
		checkTimeout(err)

		require.NoError(t, nc.SetDeadline(time.Now().Add(time.Second)))
		start := time.Now()
		_, err = nc.Read(buf) // nothing comes
		checkTimeout(err)
		assert.Equal(t, time.Second, time.Since(start))
		_, err = nc.Write([]byte("x")) // nobody reads
		checkTimeout(err)

		require.NoError(t, nc.SetDeadline(time.Time{}))
		msgs := readLoop(t, cli)
		n, err := nc.Write([]byte("works"))
		require.NoError(t, err)
		assert.Equal(t, 5, n)
		m := recv(t, msgs)
		require.NoError(t, m.err)
		assert.Equal(t, "works", string(m.p))
		sent := make(chan error, 1)
		go func() { sent <- cli.Write(context.Background(), ws.MessageBinary, []byte("too")) }()
		n, err = nc.Read(buf)
		require.NoError(t, err)
		assert.Equal(t, "too", string(buf[:n]))
		require.NoError(t, <-sent)
	})
}

// TestNetConnWrite checks that each Write sends one message of the
// NetConn's type, in one frame.
func TestNetConnWrite(t *testing.T) {
	t.Parallel()
	for _, typ := range []ws.MessageType{ws.MessageText, ws.MessageBinary} {
		t.Run(typ.String(), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c, peer := pipe(t, nil)
				frames := peer.frames(t)
				nc := c.NetConn(t.Context(), typ)
				for _, p := range []string{"one", "", "three"} {
					n, err := nc.Write([]byte(p))
					require.NoError(t, err)
					assert.Equal(t, len(p), n)
					assert.Equal(t, rawFrame{fin: true, op: byte(typ), payload: []byte(p)}, recv(t, frames))
				}
				assert.Equal(t, "pipe", nc.LocalAddr().Network())
				assert.Equal(t, "pipe", nc.RemoteAddr().Network())
			})
		})
	}
}
