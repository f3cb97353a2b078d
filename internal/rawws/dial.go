package rawws

import (
	"bufio"
	crand "crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// AcceptKey computes Sec-WebSocket-Accept for key (RFC 6455 §4.2.2 step
// 5.4) independently of package handshake.
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// NewKey returns a fresh Sec-WebSocket-Key: 16 random bytes in base64
// (RFC 6455 §4.1 item 7).
func NewKey() string {
	var k [16]byte
	crand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}

// HasToken reports whether a comma-separated header holds token, compared
// case-insensitively (RFC 6455 §4.1 and §4.2.1).
func HasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Request returns a valid opening handshake (RFC 6455 §4.1) for path on
// addr with key, plus the extra header lines, each ending in CRLF.
func Request(addr, path, key, extra string) string {
	return "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// Dial opens a connection to a WebSocket server at addr and performs the
// handshake by hand (see Handshake). The connection has deadline set.
func Dial(addr, path, extra string, deadline time.Time) (net.Conn, *bufio.Reader, error) {
	conn, br, _, err := dial(addr, path, extra, deadline, false)
	return conn, br, err
}

// DialExtensions is Dial for a request that offers extensions in extra: it
// returns the Sec-WebSocket-Extensions of the response, which the caller
// checks, instead of refusing any.
func DialExtensions(addr, path, extra string, deadline time.Time) (net.Conn, *bufio.Reader, string, error) {
	return dial(addr, path, extra, deadline, true)
}

func dial(addr, path, extra string, deadline time.Time, extensions bool) (net.Conn, *bufio.Reader, string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return nil, nil, "", err
	}
	conn.SetDeadline(deadline)
	br, exts, err := handshake(conn, addr, path, extra, extensions)
	if err != nil {
		conn.Close()
		return nil, nil, "", err
	}
	return conn, br, exts, nil
}

// Handshake sends a valid opening handshake for path on addr (RFC 6455
// §4.1) over conn, with the extra header lines (each ending in CRLF), and
// checks the server's response (§4.2.2). Frames that follow the response
// are read through the returned reader. It does not close conn.
func Handshake(conn net.Conn, addr, path, extra string) (*bufio.Reader, error) {
	br, _, err := handshake(conn, addr, path, extra, false)
	return br, err
}

// handshake is Handshake; with extensions set, it returns the response's
// Sec-WebSocket-Extensions (its lines joined with commas) instead of
// refusing any.
func handshake(conn net.Conn, addr, path, extra string, extensions bool) (*bufio.Reader, string, error) {
	key := NewKey()
	if _, err := conn.Write([]byte(Request(addr, path, key, extra))); err != nil {
		return nil, "", err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, "", fmt.Errorf("reading the handshake response: %w", err)
	}
	resp.Body.Close()
	exts := strings.Join(resp.Header.Values("Sec-WebSocket-Extensions"), ", ")
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		err = fmt.Errorf("handshake status %s, want 101", resp.Status)
	case !HasToken(resp.Header, "Upgrade", "websocket"):
		err = fmt.Errorf("handshake Upgrade %q, want websocket", resp.Header.Get("Upgrade"))
	case !HasToken(resp.Header, "Connection", "upgrade"):
		err = fmt.Errorf("handshake Connection %q, want Upgrade", resp.Header.Get("Connection"))
	case resp.Header.Get("Sec-WebSocket-Accept") != AcceptKey(key):
		err = fmt.Errorf("Sec-WebSocket-Accept %q, want %q", resp.Header.Get("Sec-WebSocket-Accept"), AcceptKey(key))
	case exts != "" && !extensions || resp.Header.Get("Sec-WebSocket-Protocol") != "":
		err = fmt.Errorf("handshake selected an extension or subprotocol that was not offered")
	}
	if err != nil {
		return nil, "", err
	}
	return br, exts, nil
}
