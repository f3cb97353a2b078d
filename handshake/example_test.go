package handshake_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ab7c482b/websocket/handshake"
)

func ExampleAcceptKey() {
	// The key and answer worked through in RFC 6455 §1.3.
	fmt.Println(handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

func ExampleUpgrade() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := handshake.Upgrade(w, r, &handshake.UpgradeOptions{Subprotocols: []string{"chat"}})
		if err != nil {
			return // Upgrade has already replied with the error status
		}
		defer res.Conn.Close()
		// Frames are read from res.Reader and written to res.Conn. This one is
		// the unmasked text frame "Hello" of RFC 6455 §5.7.
		res.Conn.Write([]byte("\x81\x05Hello"))
	}))
	defer srv.Close()

	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	res, resp, err := handshake.Dial(context.Background(), url, &handshake.DialOptions{
		Subprotocols: []string{"superchat", "chat"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Conn.Close()
	frame := make([]byte, 7)
	if _, err := io.ReadFull(res.Reader, frame); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status)
	fmt.Println("subprotocol:", res.Subprotocol)
	fmt.Printf("first frame: %q\n", frame)
	// Output:
	// 101 Switching Protocols
	// subprotocol: chat
	// first frame: "\x81\x05Hello"
}

func ExampleDial_refused() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "log in first", http.StatusUnauthorized)
	}))
	defer srv.Close()

	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	_, resp, err := handshake.Dial(context.Background(), url, nil)
	var herr *handshake.Error
	if errors.As(err, &herr) && herr.Status == http.StatusUnauthorized {
		body, _ := io.ReadAll(resp.Body) // the first KiB of the body
		fmt.Printf("%v\n%q\n", err, body)
	}
	// Output:
	// handshake: 401 Unauthorized: server refused the handshake
	// "log in first\n"
}
