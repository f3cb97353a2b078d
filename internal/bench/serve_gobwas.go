package main

import (
	"bufio"
	"compress/flate"
	"io"
	"net"
	"sync"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"
)

// gobwasServer is gobwas/ws at its lowest level, as its README's
// "zero-copy upgrade" and low-level examples show: ws.Upgrade on the raw
// connection, then frames echoed with ReadHeader, Cipher and WriteHeader,
// the payload unmasked in place in the write buffer. Broadcasts use
// wsutil.WriteServerMessage per subscriber.
type gobwasServer struct {
	deflate bool // echo through wsflate, as its README shows
	subs    hub[*gobwasSub]
}

type gobwasSub struct {
	mu   sync.Mutex // one writer at a time
	conn net.Conn
}

func (s *gobwasServer) serve(ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go s.handle(conn)
	}
}

func (s *gobwasServer) handle(conn net.Conn) {
	defer conn.Close()
	if s.deflate {
		s.handleDeflate(conn)
		return
	}
	var sub bool
	u := ws.Upgrader{OnRequest: func(uri []byte) error {
		sub = string(uri) == subPath
		return nil
	}}
	if _, err := u.Upgrade(conn); err != nil {
		return
	}
	br := bufio.NewReaderSize(conn, 4096)
	var bw *bufio.Writer // made on the first data frame: idle connections hold none
	var hbuf [ws.MaxHeaderSize]byte
	var ctl [125]byte
	var gs *gobwasSub
	if sub {
		gs = &gobwasSub{conn: conn}
		s.subs.add(gs)
		defer s.subs.remove(gs)
	}
	for {
		h, err := ws.ReadHeaderBuffer(br, hbuf[:])
		if err != nil || !h.Masked || h.Rsv != 0 {
			return // RFC 6455 §5.1: a client masks every frame
		}
		if h.OpCode.IsControl() {
			if h.Length > int64(len(ctl)) || !h.Fin {
				return
			}
			p := ctl[:h.Length]
			if _, err := io.ReadFull(br, p); err != nil {
				return
			}
			ws.Cipher(p, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				err = s.control(gs, conn, ws.OpPong, p)
			case ws.OpClose:
				s.control(gs, conn, ws.OpClose, p)
				return
			}
			if err != nil {
				return
			}
			continue
		}
		if h.Length > maxMessage {
			return
		}
		if sub {
			if _, err := br.Discard(int(h.Length)); err != nil {
				return
			}
			continue
		}
		if bw == nil {
			bw = bufio.NewWriterSize(conn, 32<<10)
		}
		out := ws.Header{Fin: h.Fin, OpCode: h.OpCode, Length: h.Length}
		if err := ws.WriteHeaderBuffer(bw, out, hbuf[:]); err != nil {
			return
		}
		// Read the payload straight into the write buffer and unmask it
		// there: one copy from socket to socket.
		for off, n := 0, int(h.Length); n > 0; {
			if bw.Available() == 0 {
				if err := bw.Flush(); err != nil {
					return
				}
			}
			p := bw.AvailableBuffer()[:min(n, bw.Available())]
			if _, err := io.ReadFull(br, p); err != nil {
				return
			}
			ws.Cipher(p, h.Mask, off)
			bw.Write(p)
			off += len(p)
			n -= len(p)
		}
		if err := bw.Flush(); err != nil {
			return
		}
	}
}

// control writes a control frame, under the subscriber's lock if any.
func (s *gobwasServer) control(gs *gobwasSub, conn net.Conn, op ws.OpCode, p []byte) error {
	if gs != nil {
		gs.mu.Lock()
		defer gs.mu.Unlock()
	}
	return ws.WriteFrame(conn, ws.NewFrame(op, true, p))
}

func (s *gobwasServer) broadcast(p []byte) int {
	subs := s.subs.snapshot()
	for _, gs := range subs {
		gs.mu.Lock()
		wsutil.WriteServerMessage(gs.conn, ws.OpBinary, p)
		gs.mu.Unlock()
	}
	return len(subs)
}

func (s *gobwasServer) subscribers() int { return s.subs.len() }

// handleDeflate echoes with permessage-deflate the way gobwas/ws's README
// does with wsutil: wsflate negotiates no context takeover either way,
// and each message is inflated through a wsflate.Reader and deflated
// again through a wsflate.Writer, both reset per message. The README's
// example compresses at level 9; level 1 (flate.BestSpeed) is what the
// other servers here use. Messages that come uncompressed go back
// uncompressed. It serves echo only.
func (s *gobwasServer) handleDeflate(conn net.Conn) {
	ext := wsflate.Extension{Parameters: wsflate.DefaultParameters}
	u := ws.Upgrader{Negotiate: ext.Negotiate}
	if _, err := u.Upgrade(conn); err != nil {
		return
	}
	var msg wsflate.MessageState
	br := bufio.NewReaderSize(conn, 4096)
	rd := &wsutil.Reader{
		Source:         br,
		State:          ws.StateServerSide | ws.StateExtended,
		MaxFrameSize:   maxMessage,
		Extensions:     []wsutil.RecvExtension{&msg},
		OnIntermediate: wsutil.ControlFrameHandler(conn, ws.StateServerSide),
	}
	// Made on the first message: idle connections hold none.
	var wr *wsutil.Writer
	var fr *wsflate.Reader
	var fw *wsflate.Writer
	var buf []byte
	for {
		h, err := rd.NextFrame()
		if err != nil {
			return
		}
		if h.OpCode.IsControl() {
			if err := rd.OnIntermediate(h, rd); err != nil {
				return
			}
			continue
		}
		if wr == nil {
			wr = wsutil.NewWriterSize(conn, ws.StateServerSide|ws.StateExtended, 0, 32<<10)
			wr.SetExtensions(&msg)
			buf = make([]byte, 32<<10)
			fr = wsflate.NewReader(nil, func(r io.Reader) wsflate.Decompressor { return flate.NewReader(r) })
			fw = wsflate.NewWriter(nil, func(w io.Writer) wsflate.Compressor {
				f, _ := flate.NewWriter(w, flate.BestSpeed)
				return f
			})
		}
		wr.ResetOp(h.OpCode)
		if msg.IsCompressed() {
			fr.Reset(rd)
			fw.Reset(wr)
			if _, err := io.CopyBuffer(fw, fr, buf); err != nil {
				return
			}
			if err := fw.Close(); err != nil {
				return
			}
		} else if _, err := io.CopyBuffer(wr, rd, buf); err != nil {
			return
		}
		if err := wr.Flush(); err != nil {
			return
		}
	}
}
