package frame

import (
	"bufio"
	"errors"
	"io"
)

// ErrMessageTooBig is returned by a MessageReader when a message's payload
// would exceed its Limit. Its Code tells the caller to close with 1009
// (RFC 6455 §7.4.1).
var ErrMessageTooBig = &ProtocolError{CloseMessageTooBig, "message too big"}

var (
	errUnmasked         = &ProtocolError{CloseProtocolError, "unmasked frame from a client"}
	errMasked           = &ProtocolError{CloseProtocolError, "masked frame from a server"}
	errRsv              = &ProtocolError{CloseProtocolError, "reserved bits set without a negotiated extension"}
	errStrayContinue    = &ProtocolError{CloseProtocolError, "continuation frame with no message open"}
	errMessageOpen      = &ProtocolError{CloseProtocolError, "new data frame while a fragmented message is open"}
	errTooManyFragments = &ProtocolError{ClosePolicyViolation, "too many fragments in one message"}
)

// A MessageReader reads messages from a stream of frames, RFC 6455 §5.4:
// it joins a data frame and its continuations into one message, hands each
// control frame that arrives between them to Control, and enforces the
// framing rules that need more than one header to check.
//
// The reader is resumable: any read from the underlying bufio.Reader may
// fail (a deadline, say) and a later call continues at the exact byte where
// the failed one stopped. Memory use is fixed: payloads stream through the
// caller's buffers and control payloads through a 125-byte array, whatever
// the frame or fragment count.
//
// A MessageReader is not safe for concurrent use.
type MessageReader struct {
	// Server is true when the peer is a client, whose frames must be
	// masked; false when the peer is a server, whose frames must not be
	// (RFC 6455 §5.1).
	Server bool
	// Rsv holds the RSV bits a negotiated extension allows on the first
	// frame of a data message. Any other RSV bit fails the connection.
	Rsv byte
	// Limit bounds the payload of one message in bytes; zero means no
	// limit. It is checked against each header's declared length, before
	// any of that payload is read.
	Limit int64
	// MaxFragments bounds the frames of one message; zero means no limit.
	MaxFragments int
	// Control receives each control frame in order of arrival, with its
	// payload unmasked and valid only during the call. A non-nil error
	// stops the reader and is returned from Next or Read.
	Control func(h Header, payload []byte) error

	br *bufio.Reader

	// Frame state.
	hdr     Header
	rem     int64 // payload bytes of the current data frame still unread
	maskPos int
	ctlHdr  Header
	ctl     [MaxControlPayload]byte
	ctlN    int  // control payload bytes read so far
	inCtl   bool // a control frame's header is consumed, its payload not all read

	// Message state.
	open  bool  // a message is open: more of its frames may follow
	size  int64 // payload bytes declared so far in this message
	frags int
	err   error // sticky protocol error

	stopAtData bool // set during SkipControl
}

// errDataNext stops SkipControl at a data frame; it is never returned.
var errDataNext = errors.New("frame: data frame next")

// SkipControl reads the control frames that come next, handing each to
// Control, and stops before the first data frame without consuming any of
// it, so that a later Next or Read still finds it. It reports whether a
// data frame is next. Between messages it lets a closing handshake read
// the peer's close frame without taking messages from the application.
func (m *MessageReader) SkipControl() (dataNext bool, err error) {
	if m.err != nil {
		return false, m.err
	}
	if m.rem > 0 || (m.open && !m.hdr.Fin) {
		return true, nil // in the middle of a message: data comes next
	}
	m.stopAtData = true
	_, err = m.nextDataFrame()
	m.stopAtData = false
	if err == errDataNext {
		return true, nil
	}
	return false, err
}

// Reset makes m read from br and forgets any state. br must have been made
// with a size of at least MaxHeaderSize bytes (bufio's minimum is enough).
func (m *MessageReader) Reset(br *bufio.Reader) {
	*m = MessageReader{
		Server:       m.Server,
		Rsv:          m.Rsv,
		Limit:        m.Limit,
		MaxFragments: m.MaxFragments,
		Control:      m.Control,
		br:           br,
	}
}

// Buffered returns the bufio.Reader that m reads from.
func (m *MessageReader) Buffered() *bufio.Reader { return m.br }

// Next skips what is left of the current message and returns the header of
// the first frame of the next one, whose Opcode is OpText or OpBinary and
// whose Rsv says which extensions apply to the whole message. Control
// frames on the way go to Control.
func (m *MessageReader) Next() (Header, error) {
	if m.err != nil {
		return Header{}, m.err
	}
	for m.open {
		if m.rem > 0 {
			n, err := m.br.Discard(int(min(m.rem, 1<<30)))
			m.rem -= int64(n)
			if err != nil {
				return Header{}, eofUnexpected(err)
			}
			continue
		}
		if m.hdr.Fin {
			m.open = false
			break
		}
		if err := m.nextContinuation(); err != nil {
			return Header{}, err
		}
	}
	h, err := m.nextDataFrame()
	if err != nil {
		return Header{}, err
	}
	if h.Opcode == OpContinuation {
		return Header{}, m.fail(errStrayContinue)
	}
	m.open = true
	m.size = 0
	m.frags = 0
	if err := m.account(h); err != nil {
		return Header{}, err
	}
	return h, nil
}

// Read reads payload of the current message, unmasked, across its frames.
// It returns io.EOF at the end of the message.
func (m *MessageReader) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	for m.rem == 0 {
		if !m.open {
			return 0, io.EOF
		}
		if m.hdr.Fin {
			m.open = false
			return 0, io.EOF
		}
		if err := m.nextContinuation(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > m.rem {
		p = p[:m.rem]
	}
	n, err := m.br.Read(p)
	if m.hdr.Masked {
		m.maskPos = Mask(m.hdr.Mask, m.maskPos, p[:n])
	}
	m.rem -= int64(n)
	if err != nil && n == 0 {
		return 0, eofUnexpected(err)
	}
	return n, nil
}

// Remaining reports whether the current message has payload left that
// Read has not returned, as far as the frames seen so far tell.
func (m *MessageReader) Remaining() bool { return m.open && (m.rem > 0 || !m.hdr.Fin) }

// nextContinuation reads the header of the next frame of an open message.
func (m *MessageReader) nextContinuation() error {
	h, err := m.nextDataFrame()
	if err != nil {
		return err
	}
	if h.Opcode != OpContinuation {
		return m.fail(errMessageOpen)
	}
	if h.Rsv != 0 {
		// RFC 7692 §6.1: RSV1 marks a whole message, on its first frame.
		return m.fail(errRsv)
	}
	return m.account(h)
}

// account adds h to the current message and checks the message limits.
func (m *MessageReader) account(h Header) error {
	m.frags++
	if m.MaxFragments > 0 && m.frags > m.MaxFragments {
		return m.fail(errTooManyFragments)
	}
	m.size += h.Length
	if m.Limit > 0 && (m.size > m.Limit || m.size < 0) {
		return m.fail(ErrMessageTooBig)
	}
	return nil
}

// nextDataFrame reads frame headers, handing control frames to Control,
// until it has consumed the header of a data frame, and makes that frame
// current.
func (m *MessageReader) nextDataFrame() (Header, error) {
	for {
		if m.inCtl {
			if err := m.readControl(); err != nil {
				return Header{}, err
			}
			continue
		}
		b, err := m.br.Peek(2)
		if err != nil {
			if m.open {
				// The stream ended between the fragments of a message:
				// it is truncated, not done (RFC 6455 §5.4).
				return Header{}, eofUnexpected(err)
			}
			return Header{}, eofIfNone(err, len(b))
		}
		if m.stopAtData && !Opcode(b[0]&0x0f).IsControl() {
			return Header{}, errDataNext
		}
		b, err = m.br.Peek(headerSize(b[0], b[1]))
		if err != nil {
			return Header{}, eofUnexpected(err)
		}
		h, n, err := ParseHeader(b)
		if err != nil {
			return Header{}, m.fail(err)
		}
		if h.Masked != m.Server {
			if m.Server {
				return Header{}, m.fail(errUnmasked)
			}
			return Header{}, m.fail(errMasked)
		}
		if h.Rsv&^m.Rsv != 0 || (h.Rsv != 0 && h.Opcode.IsControl()) {
			return Header{}, m.fail(errRsv)
		}
		m.br.Discard(n) // cannot fail: the bytes were peeked
		if h.Opcode.IsControl() {
			m.ctlHdr = h
			m.inCtl = true
			m.ctlN = 0
			continue
		}
		m.hdr = h
		m.maskPos = 0
		m.rem = h.Length
		return h, nil
	}
}

// readControl reads the current control frame's payload and delivers it.
func (m *MessageReader) readControl() error {
	want := int(m.ctlHdr.Length)
	for m.ctlN < want {
		n, err := m.br.Read(m.ctl[m.ctlN:want])
		m.ctlN += n
		if err != nil && m.ctlN < want {
			return eofUnexpected(err)
		}
	}
	m.inCtl = false
	p := m.ctl[:want]
	if m.ctlHdr.Masked {
		Mask(m.ctlHdr.Mask, 0, p)
	}
	if m.Control != nil {
		if err := m.Control(m.ctlHdr, p); err != nil {
			m.err = err
			return err
		}
	}
	return nil
}

func (m *MessageReader) fail(err error) error {
	m.err = err
	return err
}

// eofUnexpected turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func eofUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// eofIfNone keeps io.EOF only when it fell between frames.
func eofIfNone(err error, got int) error {
	if got > 0 {
		return eofUnexpected(err)
	}
	return err
}
