package conformance

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ab7c482b/websocket/internal/rawws"
)

// acceptRaw accepts one connection on ln and completes the server's side
// of the handshake by hand, after checking the client's request as RFC
// 6455 §4.1 requires it. A non-empty extensions is sent as the response's
// Sec-WebSocket-Extensions. It returns the extensions the client offered.
func acceptRaw(ln net.Listener, deadline time.Time, extensions string) (net.Conn, *bufio.Reader, string, error) {
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
	case !rawws.HasToken(req.Header, "Upgrade", "websocket"):
		err = fmt.Errorf("handshake Upgrade %q, want websocket", req.Header.Get("Upgrade"))
	case !rawws.HasToken(req.Header, "Connection", "upgrade"):
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
		"Sec-WebSocket-Accept: " + rawws.AcceptKey(key) + "\r\n"
	if extensions != "" {
		resp += "Sec-WebSocket-Extensions: " + extensions + "\r\n"
	}
	resp += "\r\n"
	if _, err := conn.Write([]byte(resp)); err != nil {
		conn.Close()
		return nil, nil, "", err
	}
	return conn, br, strings.Join(req.Header.Values("Sec-WebSocket-Extensions"), ", "), nil
}
