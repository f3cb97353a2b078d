package ws_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/require"
)

// The allocation tests are not parallel: testing.AllocsPerRun counts the
// allocations of every goroutine, so the peers below allocate nothing per
// message either.

// discard reads and drops everything from peer until it is closed at
// cleanup.
func discard(t *testing.T, peer *rawPeer) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			if _, err := peer.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		peer.Close()
		<-done
	})
}

// streamEcho echoes every message on c with Reader and Writer, which
// allocate nothing, until c is closed at cleanup.
func streamEcho(t *testing.T, c *ws.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		buf := make([]byte, 32<<10)
		for {
			typ, r, err := c.Reader(ctx)
			if err != nil {
				return
			}
			w, err := c.Writer(ctx, typ)
			if err != nil {
				return
			}
			_, err = io.CopyBuffer(w, r, buf)
			if cerr := w.Close(); err != nil || cerr != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		c.CloseNow()
		<-done
	})
}

func TestWriteAllocs(t *testing.T) {
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			c, peer := pipe(t, &ws.ConnOptions{Client: client})
			discard(t, peer)
			ctx := context.Background()
			msg := binaryOfSize(1 << 10)
			var err error
			allocs := testing.AllocsPerRun(100, func() {
				if werr := c.Write(ctx, ws.MessageBinary, msg); werr != nil {
					err = werr
				}
			})
			require.NoError(t, err)
			require.LessOrEqual(t, allocs, float64(poolSlack))
		})
	}
}

func TestStreamAllocs(t *testing.T) {
	srv, cli := pipePair(t, nil, nil)
	streamEcho(t, srv)
	ctx := context.Background()
	msg := binaryOfSize(1 << 10)
	buf := make([]byte, len(msg))
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		w, werr := cli.Writer(ctx, ws.MessageBinary)
		if werr == nil {
			_, werr = w.Write(msg)
		}
		if werr == nil {
			werr = w.Close()
		}
		var r io.Reader
		if werr == nil {
			_, r, werr = cli.Reader(ctx)
		}
		if werr == nil {
			_, werr = io.ReadFull(r, buf)
		}
		if werr != nil {
			err = werr
		}
	})
	require.NoError(t, err)
	require.Equal(t, msg, buf)
	require.LessOrEqual(t, allocs, float64(poolSlack))
}

// TestReadAllocs checks that Read of a message in one frame allocates
// exactly once: the payload it returns.
func TestReadAllocs(t *testing.T) {
	srv, cli := pipePair(t, nil, nil)
	streamEcho(t, srv)
	ctx := context.Background()
	msg := binaryOfSize(1 << 10)
	var got []byte
	var err error
	allocs := testing.AllocsPerRun(100, func() {
		werr := cli.Write(ctx, ws.MessageBinary, msg)
		if werr == nil {
			_, got, werr = cli.Read(ctx)
		}
		if werr != nil {
			err = werr
		}
	})
	require.NoError(t, err)
	require.Equal(t, msg, got)
	require.GreaterOrEqual(t, allocs, 1.0)
	require.LessOrEqual(t, allocs, 1.0+poolSlack)
}
