package ws_test

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPreparedMessage writes one PreparedMessage from several server Conns
// and a client Conn at once. Each peer is a Conn of the other role, so a
// client frame sent unmasked would fail its server (RFC 6455 §5.1).
func TestPreparedMessage(t *testing.T) {
	t.Parallel()
	for _, typ := range []ws.MessageType{ws.MessageText, ws.MessageBinary} {
		for _, n := range []int{0, 125, 126, 65535, 65536} {
			t.Run(fmt.Sprintf("%v/%d", typ, n), func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					data := textOfSize(n)
					want := string(data)
					pm, err := ws.NewPreparedMessage(typ, data)
					require.NoError(t, err)
					if n > 0 {
						data[0] = '!' // the message holds its own copy
					}

					var writers []*ws.Conn
					var readers []<-chan message
					for range 3 {
						srv, cli := pipePair(t, nil, nil)
						writers = append(writers, srv)
						readers = append(readers, readLoop(t, cli))
					}
					srv, cli := pipePair(t, nil, nil)
					writers = append(writers, cli)
					readers = append(readers, readLoop(t, srv))

					var wg sync.WaitGroup
					errs := make(chan error, len(writers)*2)
					for _, c := range writers {
						wg.Go(func() {
							// Twice, so the second write reuses the
							// encoding made by the first.
							for range 2 {
								errs <- c.WritePrepared(t.Context(), pm)
							}
						})
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						require.NoError(t, err)
					}
					for i, r := range readers {
						for range 2 {
							m := recv(t, r)
							require.NoError(t, m.err, "reader %d", i)
							assert.Equal(t, typ, m.typ)
							assert.Equal(t, want, string(m.p), "reader %d", i)
						}
					}
				})
			})
		}
	}
}

func TestPreparedMessageFrames(t *testing.T) {
	t.Parallel()
	for _, client := range []bool{false, true} {
		t.Run(fmt.Sprintf("client=%v", client), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				pm, err := ws.NewPreparedMessage(ws.MessageBinary, []byte("prepared"))
				require.NoError(t, err)
				c, peer := pipe(t, &ws.ConnOptions{Client: client})
				frames := peer.frames(t)
				require.NoError(t, c.WritePrepared(t.Context(), pm))
				assert.Equal(t, rawFrame{fin: true, op: opBinary, masked: client, payload: []byte("prepared")}, recv(t, frames))
				assert.Error(t, c.WritePrepared(t.Context(), nil))
			})
		})
	}
}
