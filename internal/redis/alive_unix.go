//go:build unix

package redis

import (
	"errors"
	"syscall"
)

// alive reports whether an idle connection is still open: the server
// has neither closed it nor sent anything unasked. It peeks without
// waiting, which a read deadline cannot do: Go fails a read whose
// deadline has passed before it looks at the socket.
func (cn *conn) alive() bool {
	if cn.br.Buffered() > 0 {
		return false
	}
	sc, ok := cn.nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	ok = false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: open and quiet. No error is a byte or the close.
		ok = errors.Is(err, syscall.EAGAIN)
		return true
	})
	return err == nil && ok
}
