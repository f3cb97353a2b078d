package ws

import "syscall"

const canWaitIdle = true

// readFD reads from descriptor fd without waiting, as net.Conn's Read does
// under the runtime's poller.
func readFD(fd uintptr, p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		if err == syscall.EINTR {
			continue
		}
		return max(n, 0), err
	}
}
