package autobahn

import (
	"context"
	"io"

	"github.com/ab7c482b/websocket/ws"
)

// ReadLimit is the read limit for connections under test: Autobahn's
// largest messages (cases 9.1.6 and 9.2.6) are 16 MiB.
const ReadLimit = 16<<20 + 64<<10

// Echo sends every message it reads from c back with the same type, until
// the connection ends, and returns why it ended: a *ws.CloseError once the
// peer has closed (c has answered the peer's close frame), the
// *frame.ProtocolError with which c failed the connection, or ctx's error.
// It streams each message through one buffer, so memory does not grow with
// message size. The caller still owns c and closes it.
func Echo(ctx context.Context, c *ws.Conn) error {
	buf := make([]byte, 32<<10)
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return err
		}
		w, err := c.Writer(ctx, typ)
		if err != nil {
			return err
		}
		rr := readErr{r: r}
		if _, err := io.CopyBuffer(w, &rr, buf); err != nil {
			// A read that fails the connection sends the close frame
			// before io.CopyBuffer writes what came with the error, so
			// that write fails too; the read error says why.
			if rr.err != nil {
				return rr.err
			}
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
}

// readErr remembers the error of the reader it wraps, other than io.EOF.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
