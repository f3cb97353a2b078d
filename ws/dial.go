package ws

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ab7c482b/websocket/handshake"
)

// DialOptions configures Dial. The zero value dials with the default
// Config, through the proxy the environment names, and offers no
// subprotocol.
type DialOptions struct {
	Config
	// Header holds extra request headers, such as Origin or
	// Authorization. It may not set the handshake's own headers.
	Header http.Header
	// Subprotocols lists the subprotocols to offer, in order of
	// preference.
	Subprotocols []string
	// TLSConfig configures wss:// connections; nil means the defaults,
	// with the server name taken from the URL.
	TLSConfig *tls.Config
	// NetDialContext dials the TCP connection (to the proxy, if one is
	// used). Nil means a net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Proxy returns the HTTP proxy to tunnel through with CONNECT, or nil
	// for none. Nil means http.ProxyFromEnvironment.
	Proxy func(*http.Request) (*url.URL, error)
	// Jar, if set, supplies cookies for the request and stores those the
	// response sets.
	Jar http.CookieJar
	// HandshakeTimeout bounds the whole handshake, dial and proxy and TLS
	// included, whatever ctx allows. Zero means handshake.DefaultTimeout.
	HandshakeTimeout time.Duration
}

// Dial opens a WebSocket connection to a ws:// or wss:// URL
// (RFC 6455 §4.1), within ctx; ctx does not bound the connection after the
// handshake. opts may be nil. User info in the URL (ws://user:pass@host/)
// is sent as Basic authorization.
//
// The response is returned both on success and when the server refused
// the handshake; then the error is a *handshake.Error with the status, and
// the response's body holds the start of what the server sent, so a
// caller can tell 401 from 404. Redirects are not followed, so
// credentials never go to another host.
func Dial(ctx context.Context, url string, opts *DialOptions) (*Conn, *http.Response, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	res, resp, err := handshake.Dial(ctx, url, &handshake.DialOptions{
		Header:         o.Header,
		Subprotocols:   o.Subprotocols,
		TLSConfig:      o.TLSConfig,
		NetDialContext: o.NetDialContext,
		Proxy:          o.Proxy,
		Jar:            o.Jar,
		Timeout:        o.HandshakeTimeout,
		Extensions:     deflateOffer(o.Compression),
	})
	if err != nil {
		return nil, resp, err
	}
	if _, _, err := agreedDeflate(res.Extensions, true); err != nil {
		// RFC 7692 §5.2 (and RFC 6455 §9.1): the client fails the
		// connection when the server's answer is not one it offered.
		res.Conn.Close()
		return nil, resp, &handshake.Error{Reason: err.Error()}
	}
	fl := handshakeSource(res.Reader, res.Conn)
	return NewConn(res.Conn, &ConnOptions{
		Config:      o.Config,
		Client:      true,
		Subprotocol: res.Subprotocol,
		Extensions:  res.Extensions,
		flusher:     fl,
	}), resp, nil
}
