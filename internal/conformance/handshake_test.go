package conformance

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

// acceptKey computes Sec-WebSocket-Accept (RFC 6455 §4.2.2 step 5.4)
// independently of package handshake.
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// hasToken reports whether a comma-separated header holds token, compared
// case-insensitively (RFC 6455 §4.1 and §4.2.1).
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// dialRaw opens a connection to a WebSocket server with a handshake
// written by hand (RFC 6455 §4.1) and checks the server's response
// (§4.2.2). Frames that follow the response are read through the returned
// reader.
func dialRaw(addr, path string, deadline time.Time) (net.Conn, *bufio.Reader, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(deadline)
	var k [16]byte
	crand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("reading the handshake response: %w", err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		err = fmt.Errorf("handshake status %s, want 101", resp.Status)
	case !hasToken(resp.Header, "Upgrade", "websocket"):
		err = fmt.Errorf("handshake Upgrade %q, want websocket", resp.Header.Get("Upgrade"))
	case !hasToken(resp.Header, "Connection", "upgrade"):
		err = fmt.Errorf("handshake Connection %q, want Upgrade", resp.Header.Get("Connection"))
	case resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key):
		err = fmt.Errorf("Sec-WebSocket-Accept %q, want %q", resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key))
	case resp.Header.Get("Sec-WebSocket-Extensions") != "" || resp.Header.Get("Sec-WebSocket-Protocol") != "":
		err = fmt.Errorf("handshake selected an extension or subprotocol that was not offered")
	}
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, br, nil
}

// acceptRaw accepts one connection on ln and completes the server's side
// of the handshake by hand, after checking the client's request as RFC
// 6455 §4.1 requires it. It returns the request path.
func acceptRaw(ln net.Listener, deadline time.Time) (net.Conn, *bufio.Reader, string, error) {
	ln.(*net.TCPListener).SetDeadline(deadline)
	conn, err := ln.Accept()
	if err != nil {
		return nil, nil, "", err
	}
	conn.SetDeadline(deadline)
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		conn.Close()
		return nil, nil, "", fmt.Errorf("reading the handshake request: %w", err)
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	raw, kerr := base64.StdEncoding.DecodeString(key)
	switch {
	case req.Method != http.MethodGet || !req.ProtoAtLeast(1, 1):
		err = fmt.Errorf("handshake request %s %s, want GET over HTTP/1.1", req.Method, req.Proto)
	case req.Host == "":
		err = fmt.Errorf("handshake request without Host")
	case !hasToken(req.Header, "Upgrade", "websocket"):
		err = fmt.Errorf("handshake Upgrade %q, want websocket", req.Header.Get("Upgrade"))
	case !hasToken(req.Header, "Connection", "upgrade"):
		err = fmt.Errorf("handshake Connection %q, want Upgrade", req.Header.Get("Connection"))
	case req.Header.Get("Sec-WebSocket-Version") != "13":
		err = fmt.Errorf("Sec-WebSocket-Version %q, want 13", req.Header.Get("Sec-WebSocket-Version"))
	case kerr != nil || len(raw) != 16:
		err = fmt.Errorf("Sec-WebSocket-Key %q is not 16 base64-encoded bytes", key)
	}
	if err != nil {
		conn.Close()
		return nil, nil, "", err
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n"
	if _, err := conn.Write([]byte(resp)); err != nil {
		conn.Close()
		return nil, nil, "", err
	}
	return conn, br, req.URL.Path, nil
}
