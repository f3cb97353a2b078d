package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// readBufferSize bounds the longest line of a reply: a simple string or
// an error, such as a Lua error that quotes the script.
const readBufferSize = 16 << 10

// conn is one connection to the server. It is not safe for concurrent
// use.
type conn struct {
	nc  net.Conn
	br  *bufio.Reader
	buf []byte // the command being written, reused
}

// dial connects, authenticates, selects the database and names the
// connection, within ctx and opts.DialTimeout.
func dial(ctx context.Context, opts *Options) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(ctx, opts.Network, opts.Addr)
	if err != nil {
		return nil, err
	}
	cn := &conn{nc: nc, br: bufio.NewReaderSize(nc, readBufferSize)}
	var setup [][]string
	if opts.Password != "" {
		if opts.Username != "" {
			setup = append(setup, []string{"AUTH", opts.Username, opts.Password})
		} else {
			setup = append(setup, []string{"AUTH", opts.Password})
		}
	}
	if opts.DB != 0 {
		setup = append(setup, []string{"SELECT", strconv.Itoa(opts.DB)})
	}
	if opts.Name != "" {
		setup = append(setup, []string{"CLIENT", "SETNAME", opts.Name})
	}
	for _, args := range setup {
		r, err := cn.roundTrip(ctx, opts.DialTimeout, args)
		if err == nil && r.Kind == KindError {
			err = Error(r.Str)
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: %w", args[0], err)
		}
	}
	return cn, nil
}

// roundTrip writes a command and reads its reply, within ctx and
// timeout. An error reply is a Reply of KindError, not an error: the
// connection is still in step. Any error leaves the connection unusable.
func (cn *conn) roundTrip(ctx context.Context, timeout time.Duration, args []string) (Reply, error) {
	stop := cn.bound(ctx, timeout)
	defer stop()
	if err := cn.write(args); err != nil {
		return Reply{}, cn.cause(ctx, err)
	}
	r, err := ReadReply(cn.br)
	if err != nil {
		return Reply{}, cn.cause(ctx, err)
	}
	return r, nil
}

func (cn *conn) write(args []string) error {
	cn.buf = AppendCommand(cn.buf[:0], args...)
	_, err := cn.nc.Write(cn.buf)
	return err
}

// bound sets the connection's deadline to timeout from now, or to ctx's
// deadline if that is sooner, and makes ctx's cancellation end any I/O
// at once. The returned func undoes the cancellation hook.
func (cn *conn) bound(ctx context.Context, timeout time.Duration) (stop func()) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	cn.nc.SetDeadline(deadline)
	unhook := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Unix(1, 0)) })
	return func() { unhook() }
}

// cause prefers ctx's error to the timeout its cancellation caused.
func (cn *conn) cause(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return cerr
	}
	return err
}
