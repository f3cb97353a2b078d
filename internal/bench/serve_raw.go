package main

import (
	"net"
	"sync"
)

// rawServer echoes bytes over plain TCP with no framing: the ceiling any
// WebSocket server on this machine could reach. It reads into one 32 KiB
// buffer and writes back what it read (no splice, so its system calls are
// those of the WebSocket servers). Every connection is also a broadcast
// subscriber, sent ready-made frames.
type rawServer struct{ subs hub[*rawSub] }

type rawSub struct {
	mu   sync.Mutex
	conn net.Conn
}

func (s *rawServer) serve(ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go s.handle(conn)
	}
}

func (s *rawServer) handle(conn net.Conn) {
	defer conn.Close()
	sub := &rawSub{conn: conn}
	s.subs.add(sub)
	defer s.subs.remove(sub)
	var buf []byte // made on the first read that returns data
	var one [1]byte
	for {
		if buf == nil {
			// Wait for data without holding a buffer, as an idle
			// connection of a real server would.
			n, err := conn.Read(one[:])
			if err != nil {
				return
			}
			buf = make([]byte, 32<<10)
			if _, err := conn.Write(one[:n]); err != nil {
				return
			}
			continue
		}
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *rawServer) broadcast(p []byte) int {
	f := serverFrame(p)
	subs := s.subs.snapshot()
	for _, sub := range subs {
		sub.mu.Lock()
		sub.conn.Write(f)
		sub.mu.Unlock()
	}
	return len(subs)
}

func (s *rawServer) subscribers() int { return s.subs.len() }
