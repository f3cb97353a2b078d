package main

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRoomShutdownDeadline closes a room holding a client that answers
// and one that stopped reading: the first gets 1001, the room waits for
// the second until the deadline, then drops it, and every client's
// goroutines end.
func TestRoomShutdownDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r, err := newRoom(newMemBroker(10), roomConfig{Logger: testLogger(t), WriteTimeout: time.Hour})
		require.NoError(t, err)
		good := join(t, r, joinRequest{Name: "good"})
		good.welcome()
		stuck := join(t, r, joinRequest{Name: "stuck"})
		stuck.welcome()
		good.readType(typeJoin) // stuck's join: both are members
		// From now on stuck reads nothing, so the close frame meant for
		// it cannot be written.
		got := make(chan error, 1)
		go func() {
			var err error
			for err == nil {
				_, err = good.tryRead()
			}
			got <- err
		}()

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		assert.ErrorIs(t, r.Close(ctx), context.DeadlineExceeded)
		assert.Equal(t, 3*time.Second, time.Since(start), "the room waited for the deadline, and no longer")
		var ce *ws.CloseError
		require.ErrorAs(t, <-got, &ce)
		assert.Equal(t, ws.StatusGoingAway, ce.Code)
		assert.Equal(t, reasonShutdown, ce.Reason)
		<-good.done
		<-stuck.done // Serve returned: nothing of stuck is left running
		for err == nil {
			_, err = stuck.tryRead()
		}
		assert.Equal(t, ws.StatusAbnormalClosure, ws.CloseStatus(err), "stuck's connection was dropped, with no close frame")
	})
}
