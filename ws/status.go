package ws

import (
	"errors"
	"strconv"

	"github.com/ab7c482b/websocket/frame"
)

// MessageType is the type of a data message (RFC 6455 §5.6).
type MessageType int

const (
	// MessageText is a message of UTF-8 text; both sides validate it.
	MessageText MessageType = MessageType(frame.OpText)
	// MessageBinary is a message of arbitrary bytes.
	MessageBinary MessageType = MessageType(frame.OpBinary)
)

func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

func (t MessageType) opcode() (frame.Opcode, bool) {
	switch t {
	case MessageText, MessageBinary:
		return frame.Opcode(t), true
	}
	return 0, false
}

// StatusCode is the status code of a close frame (RFC 6455 §7.4). It is
// the same type as frame.CloseCode, so the two mix freely.
type StatusCode = frame.CloseCode

// Status codes of RFC 6455 §7.4.1 and the IANA registry. 3000–4999 are
// free for libraries and applications.
const (
	StatusNormalClosure   = frame.CloseNormal
	StatusGoingAway       = frame.CloseGoingAway
	StatusProtocolError   = frame.CloseProtocolError
	StatusUnsupportedData = frame.CloseUnsupportedData
	StatusNoStatus        = frame.CloseNoStatus // no code in the close frame; never sent
	StatusAbnormalClosure = frame.CloseAbnormal // no close frame at all; never sent
	StatusInvalidPayload  = frame.CloseInvalidPayload
	StatusPolicyViolation = frame.ClosePolicyViolation
	StatusMessageTooBig   = frame.CloseMessageTooBig
	StatusMandatoryExt    = frame.CloseMandatoryExt
	StatusInternalError   = frame.CloseInternalError
	StatusServiceRestart  = frame.CloseServiceRestart
	StatusTryAgainLater   = frame.CloseTryAgainLater
	StatusBadGateway      = frame.CloseBadGateway
)

// CloseError reports how a connection closed: the code and reason of the
// peer's close frame, or StatusAbnormalClosure when the connection ended
// without one (then Unwrap gives the transport's error). Read returns it
// once the connection is closed; check it with errors.As or CloseStatus.
type CloseError struct {
	Code   StatusCode
	Reason string
	err    error
}

func (e *CloseError) Error() string {
	s := "ws: closed: " + strconv.Itoa(int(e.Code)) + " " + e.Code.String()
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Unwrap returns the transport's error behind an abnormal closure.
func (e *CloseError) Unwrap() error { return e.err }

// CloseStatus returns the code of the *CloseError in err's chain, or 0 if
// there is none (0 is never a close code).
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// wrapped is err with a prefix, formatted only when its text is asked
// for. A peer that vanishes costs its connection's reader (and often a
// writer) an error each; fmt.Errorf would format the transport's error,
// addresses and all, whether or not anyone reads it.
type wrapped struct {
	prefix string
	err    error
}

func wrap(prefix string, err error) error { return &wrapped{prefix, err} }

func (e *wrapped) Error() string { return e.prefix + e.err.Error() }
func (e *wrapped) Unwrap() error { return e.err }
