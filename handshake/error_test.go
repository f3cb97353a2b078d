package handshake

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"server status", &Error{Status: 400, Reason: "missing Sec-WebSocket-Key"}, "handshake: 400 Bad Request: missing Sec-WebSocket-Key"},
		{"426", &Error{Status: 426, Reason: "want 13"}, "handshake: 426 Upgrade Required: want 13"},
		{"client-side failure", &Error{Reason: "wrong or missing Sec-WebSocket-Accept"}, "handshake: wrong or missing Sec-WebSocket-Accept"},
		{"status without text", &Error{Status: 499, Reason: "x"}, "handshake: 499: x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}
}
