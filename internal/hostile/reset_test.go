package hostile

import (
	"testing"
	"time"

	"github.com/ab7c482b/websocket/frame"
	"github.com/ab7c482b/websocket/internal/rawws"
	"github.com/ab7c482b/websocket/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resetAfter is a case where the raw client sends send and then resets
// the TCP connection: the server must survive it and serve others, which
// the runner checks after every case.
func resetAfter(name string, servers []string, send []byte) hostileCase {
	return hostileCase{name: name, servers: servers, run: func(t *testing.T, s *instance) {
		sess := open(t, s)
		require.NoError(t, sess.send(send))
		sess.reset()
	}}
}

func resetCases() []hostileCase {
	both := []string{"echo", "chat"}
	whole := rawws.AppendFrame(nil, true, 0, frame.OpBinary, make([]byte, 1000), true)
	big := rawws.AppendFrame(nil, true, 0, frame.OpBinary, make([]byte, 4<<20), true)
	silent := hostileCase{name: "§7.1.1 peer silent after the server's close", servers: []string{"echo", "chat"}, run: func(t *testing.T, s *instance) {
		sess := open(t, s)
		require.NoError(t, sess.send(masked(true, 0, 0x3, "")))
		got, err := sess.awaitClose()
		require.NoError(t, err)
		assert.Equal(t, frame.CloseProtocolError, got.code)
		// No reply and no FIN: the server must still end the TCP
		// connection, within its close timeout.
		assert.NoError(t, sess.awaitEnd(ws.DefaultCloseTimeout+3*time.Second))
	}}
	midHandshake := hostileCase{name: "§4.1 reset in the middle of the handshake", servers: allServers, run: func(t *testing.T, s *instance) {
		conn, err := dialTCP(s)
		require.NoError(t, err)
		r := rawws.Request(s.proc.Addr, s.path, rawws.NewKey(), s.extra)
		_, err = conn.Write([]byte(r[:len(r)/2]))
		require.NoError(t, err)
		(&session{conn: conn}).reset()
	}}
	return []hostileCase{
		resetAfter("§5.2 reset inside a frame header", both, whole[:3]),
		resetAfter("§5.2 reset inside a frame's payload", both, whole[:len(whole)/2]),
		resetAfter("§5.4 reset inside a fragmented message", both, concat(masked(false, 0, frame.OpText, "first"), masked(false, 0, frame.OpContinuation, "second")[:4])),
		resetAfter("§5.5.1 reset right after a close frame", both, masked(true, 0, frame.OpClose, "\x03\xe8")),
		// Chat's limit is far below this; echo streams the frame back
		// as it arrives.
		resetAfter("§5.2 reset halfway through a 4 MiB frame being echoed", []string{"echo"}, big[:len(big)/2]),
		silent,
		midHandshake,
	}
}
