package handshake

import (
	"net/http"
	"strconv"
)

// Error is a refused opening handshake.
//
// On the server ([CheckRequest], [CheckOrigin], [Upgrade]) Status is the
// HTTP status to reply with, or that was replied with. On the client
// ([Dial]) Status is the status the server answered, or 0 when the server
// answered 101 but the client rejected the response (a wrong
// Sec-WebSocket-Accept, an unoffered subprotocol, and so on).
//
// Reason is a short English explanation; [Upgrade] sends it as the
// plain-text body of its error response. An Error is not modified after it
// is returned, so it may be shared between goroutines.
type Error struct {
	Status int
	Reason string
}

// Error returns "handshake: 400 Bad Request: missing Sec-WebSocket-Key",
// or "handshake: " + Reason when Status is 0.
func (e *Error) Error() string {
	if e.Status == 0 {
		return "handshake: " + e.Reason
	}
	s := "handshake: " + strconv.Itoa(e.Status)
	if text := http.StatusText(e.Status); text != "" {
		s += " " + text
	}
	return s + ": " + e.Reason
}
