package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Message types; the package doc describes each one and its fields.
const (
	// Sequenced: the room's log, in one order for everyone.
	typeMessage = "message"
	typeJoin    = "join"
	typeLeave   = "leave"
	typeRename  = "rename"
	// Private: sent to one client, outside the log.
	typeWelcome   = "welcome"
	typeMissed    = "missed"
	typeRestarted = "restarted"
	typeError     = "error"
	// Commands from a client.
	cmdSend   = "send"
	cmdRename = "rename"
)

// Error codes of "error" replies.
const (
	errBadRequest  = "bad_request"
	errEmpty       = "empty"
	errTooLong     = "too_long"
	errRateLimited = "rate_limited"
	errBadName     = "bad_name"
	errUnavailable = "unavailable"
)

// maxName bounds a display name, in characters.
const maxName = 32

// event is the body of a sequenced message as the broker stores it; the
// room adds "seq" when it sends one (see withSeq).
type event struct {
	Type   string `json:"type"`
	Time   string `json:"time"`
	ID     string `json:"id"`
	Name   string `json:"name"`
	Old    string `json:"old,omitempty"`
	Text   string `json:"text,omitempty"`
	Reason string `json:"reason,omitempty"`
}

type user struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type welcome struct {
	Type       string  `json:"type"`
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Epoch      string  `json:"epoch"`
	Last       uint64  `json:"last"`
	Users      []user  `json:"users"`
	MaxMessage int     `json:"max_message"`
	Rate       float64 `json:"rate"`
	Burst      int     `json:"burst"`
}

type notice struct {
	Type  string `json:"type"`
	After uint64 `json:"after"`
	First uint64 `json:"first,omitempty"`
	Text  string `json:"text"`
}

type errorReply struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Text    string `json:"text"`
	Ref     string `json:"ref,omitempty"`
	RetryMS int64  `json:"retry_ms,omitempty"`
}

// command is what a client sends.
type command struct {
	Type string `json:"type"`
	Text string `json:"text"`
	Name string `json:"name"`
	Ref  string `json:"ref"`
}

// encode marshals v, whose types cannot fail to marshal.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("chat: encode: " + err.Error())
	}
	return b
}

// withSeq returns the wire form of a sequenced message: its body, a JSON
// object that encode produced, with "seq" added as the first field.
func withSeq(seq uint64, body []byte) []byte {
	b := make([]byte, 0, len(body)+28)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ',')
	return append(b, body[1:]...)
}

// timestamp formats t as the "time" field: RFC 3339 in UTC, milliseconds.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// cleanName trims a requested display name and reports whether it is
// acceptable: 1 to maxName characters, none of them control or format
// characters (which could hide or reorder the text around the name).
func cleanName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > maxName {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return "", false
		}
	}
	return s, true
}
