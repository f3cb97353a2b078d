package handshake

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultTimeout bounds a whole [Dial] when DialOptions.Timeout is zero.
	DefaultTimeout = 30 * time.Second

	// DefaultMaxHeaderBytes bounds the status line and headers of the
	// server's response (and of a proxy's CONNECT response) when
	// DialOptions.MaxHeaderBytes is zero. 16 KiB leaves room for several
	// large cookies while keeping a hostile server from making [Dial]
	// buffer without limit.
	DefaultMaxHeaderBytes = 16 << 10

	// maxErrorBody is how much of a refusal's body Dial keeps.
	maxErrorBody = 1 << 10
)

// DialOptions configures [Dial]. A nil *DialOptions means the zero value.
// Dial does not modify the options (it clones TLSConfig before changing
// it), so one value may be shared by concurrent calls as long as no one
// changes it.
type DialOptions struct {
	// Header holds extra request headers, such as Origin or Authorization.
	// It may not set the headers the handshake writes itself: Host,
	// Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version,
	// Sec-WebSocket-Accept, Sec-WebSocket-Protocol (use Subprotocols),
	// Sec-WebSocket-Extensions (use Extensions), Content-Length,
	// Transfer-Encoding or Trailer; nor Authorization when the URL has user
	// info. Dial returns an error if it tries.
	Header http.Header

	// Subprotocols are offered in Sec-WebSocket-Protocol, in order of
	// preference (RFC 6455 §4.1 item 10). Each must be a distinct token.
	Subprotocols []string

	// Extensions are offered in Sec-WebSocket-Extensions (RFC 6455 §9.1).
	Extensions []Extension

	// TLSConfig configures TLS for wss:// and for https:// proxies. Dial
	// uses a clone; ServerName defaults to the URL's host name (RFC 6455
	// §4.1 step 5: clients must send SNI) and is always the proxy's host
	// name for the proxy, and NextProtos is always "http/1.1", since the
	// handshake is an HTTP/1.1 request. Nil means a zero config.
	TLSConfig *tls.Config

	// NetDialContext opens the TCP connection to the server, or to the
	// proxy. Nil means a zero net.Dialer's DialContext.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Proxy returns the proxy for a request whose URL is the http:// or
	// https:// form of the WebSocket URL, or nil for none. Nil means
	// http.ProxyFromEnvironment. http:// and https:// proxies are
	// supported, through CONNECT (RFC 6455 §4.1 step 3); user info in the
	// proxy URL is sent as Proxy-Authorization: Basic.
	Proxy func(*http.Request) (*url.URL, error)

	// Jar, when non-nil, supplies cookies for the request (after any Cookie
	// in Header) and stores the cookies of the response, whatever its
	// status. It is consulted with the http:// or https:// form of the URL.
	// It must be safe for concurrent use if the options are shared.
	Jar http.CookieJar

	// Timeout bounds the whole handshake: dial, proxy, TLS, request and
	// response (including the body kept from a refusal). It applies on top
	// of ctx. Zero or negative means DefaultTimeout.
	Timeout time.Duration

	// MaxHeaderBytes bounds the response's status line plus headers. Zero
	// or negative means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
}

// reservedRequest are the headers Dial writes itself, or that would change
// the request's framing.
var reservedRequest = []string{
	"Host", hdrUpgrade, hdrConnection, hdrKey, hdrVersion, hdrAccept,
	hdrProtocol, hdrExtensions, "Content-Length", "Transfer-Encoding", "Trailer",
}

// Dial performs the client's opening handshake (RFC 6455 §4.1) with the
// server at rawURL, whose scheme is ws or wss (http and https are accepted
// as aliases).
//
// The request carries Host, Upgrade: websocket, Connection: Upgrade, a
// fresh random Sec-WebSocket-Key, Sec-WebSocket-Version: 13, the offered
// subprotocols and extensions, Authorization: Basic from the URL's user
// info (which never appears in the request target), cookies from
// opts.Jar, and opts.Header.
//
// A 101 response is checked as §4.1 requires: Upgrade is "websocket",
// Connection has "upgrade", Sec-WebSocket-Accept is [AcceptKey] of the key,
// and the subprotocol and extension names, if any, are among those
// offered. A failed check returns an [*Error] with Status 0.
//
// Any other status is a refused handshake: Dial returns an [*Error] with
// that Status, and the *http.Response, whose Body holds the first 1 KiB of
// the real body in memory; the connection is closed. Redirects are not
// followed, so credentials never go to another host.
//
// On success the Response is returned too, with Body [http.NoBody], and
// the [Result]'s Reader holds any bytes the server sent after its 101.
//
// The handshake is bounded by ctx and opts.Timeout. If ctx is done first,
// the connection is closed and the error wraps ctx.Err(). The returned
// connection has no deadline. opts may be nil.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Result, *http.Response, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	u, secure, err := parseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	key := newKey()
	req, err := newRequest(u, secure, key, &o)
	if err != nil {
		return nil, nil, err
	}
	proxyFunc := o.Proxy
	if proxyFunc == nil {
		proxyFunc = http.ProxyFromEnvironment
	}
	proxyURL, err := proxyFunc(req)
	if err != nil {
		return nil, nil, fmt.Errorf("handshake: proxy: %w", err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if secure {
			port = "443"
		}
	}
	target := net.JoinHostPort(u.Hostname(), port)
	addr := target
	if proxyURL != nil {
		if addr, err = proxyAddr(proxyURL); err != nil {
			return nil, nil, err
		}
	}

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	dial := o.NetDialContext
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	raw, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, ioError(ctx, "dial", err)
	}
	// Every step below reads or writes raw, perhaps through TLS; a deadline
	// in the past unblocks them all as soon as ctx is done.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	res, resp, err := handshake(ctx, raw, proxyURL, target, secure, req, key, &o)
	if !stop() && err == nil {
		// ctx ended just as the handshake succeeded; the deadline may be
		// set already, so the connection is unusable.
		err = ioError(ctx, "handshake", ctx.Err())
	}
	if err != nil {
		raw.Close()
		return nil, resp, err
	}
	if err := raw.SetDeadline(time.Time{}); err != nil {
		raw.Close()
		return nil, resp, fmt.Errorf("handshake: clear deadline: %w", err)
	}
	return res, resp, nil
}

// handshake runs the handshake over raw, an open connection to the server
// or to proxyURL. The caller closes raw on error.
func handshake(ctx context.Context, raw net.Conn, proxyURL *url.URL, target string, secure bool, req *http.Request, key string, o *DialOptions) (*Result, *http.Response, error) {
	conn := raw
	if proxyURL != nil {
		if proxyURL.Scheme == "https" {
			cfg := tlsConfig(o.TLSConfig)
			cfg.ServerName = proxyURL.Hostname() // not the target's name
			tc := tls.Client(conn, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, nil, ioError(ctx, "proxy TLS handshake", err)
			}
			conn = tc
		}
		if err := connect(ctx, conn, proxyURL, target, o.MaxHeaderBytes); err != nil {
			return nil, nil, err
		}
	}
	if secure {
		cfg := tlsConfig(o.TLSConfig)
		if cfg.ServerName == "" {
			cfg.ServerName = req.URL.Hostname() // RFC 6455 §4.1 step 5: SNI
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, ioError(ctx, "TLS handshake", err)
		}
		conn = tc
	}
	if err := req.Write(conn); err != nil {
		return nil, nil, ioError(ctx, "write request", err)
	}
	lr := &limitReader{r: conn, n: o.MaxHeaderBytes}
	br := bufio.NewReader(lr)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		if lr.hit {
			return nil, nil, &Error{Reason: "response header larger than " + strconv.Itoa(o.MaxHeaderBytes) + " bytes"}
		}
		return nil, nil, ioError(ctx, "read response", err)
	}
	// Frames may follow the headers; from here on nothing is limited.
	lr.n = -1
	if o.Jar != nil {
		if cookies := resp.Cookies(); len(cookies) > 0 {
			o.Jar.SetCookies(req.URL, cookies)
		}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, resp, refused(resp)
	}
	resp.Body = http.NoBody
	res := &Result{Conn: conn, Reader: br}
	if res.Subprotocol, res.Extensions, err = checkResponse(resp, key, o); err != nil {
		return nil, resp, err
	}
	return res, resp, nil
}

// refused returns the error for a response other than 101 (RFC 6455 §4.1:
// handled per HTTP, and redirects need not be followed), after replacing
// resp.Body with the first maxErrorBody bytes of the body. The rest is not
// read: the connection is about to be closed.
func refused(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	reason := "server refused the handshake"
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
		reason = "server redirected to " + quote(loc) + "; redirects are not followed"
	}
	return &Error{Status: resp.StatusCode, Reason: reason}
}

// checkResponse validates a 101 as RFC 6455 §4.1 requires of the client,
// and returns the subprotocol and extensions the server selected.
func checkResponse(resp *http.Response, key string, o *DialOptions) (string, []Extension, error) {
	if up := listElements(resp.Header[hdrUpgrade]); len(up) != 1 || !strings.EqualFold(up[0], "websocket") {
		return "", nil, &Error{Reason: `response Upgrade header is not "websocket"`} // §4.1 item 2
	}
	if !hasToken(resp.Header[hdrConnection], "upgrade") {
		return "", nil, &Error{Reason: `response Connection header does not contain "Upgrade"`} // item 3
	}
	if acc := resp.Header[hdrAccept]; len(acc) != 1 || trimOWS(acc[0]) != AcceptKey(key) {
		return "", nil, &Error{Reason: "wrong or missing Sec-WebSocket-Accept"} // item 4
	}
	exts, err := ParseExtensions(resp.Header)
	if err != nil {
		return "", nil, &Error{Reason: err.(*extensionError).reason()}
	}
	for _, e := range exts {
		if !slices.ContainsFunc(o.Extensions, func(x Extension) bool { return x.Name == e.Name }) {
			return "", nil, &Error{Reason: "server accepted extension " + quote(e.Name) + ", which was not offered"} // item 5
		}
	}
	var subprotocol string
	switch p := resp.Header[hdrProtocol]; {
	case len(p) > 1:
		return "", nil, &Error{Reason: "more than one Sec-WebSocket-Protocol in response"}
	case len(p) == 1:
		subprotocol = trimOWS(p[0])
		if !slices.Contains(o.Subprotocols, subprotocol) {
			return "", nil, &Error{Reason: "server selected subprotocol " + quote(subprotocol) + ", which was not offered"} // item 6
		}
	}
	return subprotocol, exts, nil
}

// parseURL checks rawURL against RFC 6455 §3 and reports whether it is
// secure.
func parseURL(rawURL string) (*url.URL, bool, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, false, fmt.Errorf("handshake: %w", err)
	}
	var secure bool
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return nil, false, fmt.Errorf("handshake: unsupported URL scheme %q; want ws or wss", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, false, fmt.Errorf("handshake: URL %q has no host", rawURL)
	}
	if strings.Contains(rawURL, "#") {
		// RFC 6455 §3: fragment identifiers must not be used.
		return nil, false, errors.New("handshake: WebSocket URL must not have a fragment")
	}
	return u, secure, nil
}

// newRequest builds the opening handshake of RFC 6455 §4.1 for u.
func newRequest(u *url.URL, secure bool, key string, o *DialOptions) (*http.Request, error) {
	if reason := checkHeader(o.Header, reservedRequest); reason != "" {
		return nil, errors.New("handshake: " + reason)
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Scheme: scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, len(o.Header)+6),
		Host:       u.Host,
	}
	for name, values := range o.Header {
		name = textproto.CanonicalMIMEHeaderKey(name)
		req.Header[name] = append(req.Header[name], values...)
	}
	if u.User != nil {
		if len(req.Header.Values("Authorization")) > 0 {
			return nil, errors.New("handshake: both URL user info and an Authorization header")
		}
		password, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), password)
	}
	if o.Jar != nil {
		for _, c := range o.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
	}
	// Canonical keys, so that resp.Request.Header.Get finds them.
	req.Header[hdrUpgrade] = []string{"websocket"}
	req.Header[hdrConnection] = []string{"Upgrade"}
	req.Header[hdrKey] = []string{key}
	req.Header[hdrVersion] = []string{"13"}
	for i, p := range o.Subprotocols {
		if !isToken(p) || slices.Contains(o.Subprotocols[:i], p) {
			// RFC 6455 §4.1 item 10: unique tokens.
			return nil, fmt.Errorf("handshake: invalid or repeated subprotocol %q", p)
		}
	}
	if len(o.Subprotocols) > 0 {
		req.Header[hdrProtocol] = []string{strings.Join(o.Subprotocols, ", ")}
	}
	for _, e := range o.Extensions {
		if !isToken(e.Name) || slices.ContainsFunc(e.Params, func(p Param) bool { return !isToken(p.Name) }) {
			return nil, fmt.Errorf("handshake: invalid extension offer %q", e.String())
		}
	}
	if exts := FormatExtensions(o.Extensions); exts != "" {
		if !validFieldValue(exts) {
			return nil, errors.New("handshake: invalid extension parameter value")
		}
		req.Header[hdrExtensions] = []string{exts}
	}
	return req, nil
}

// tlsConfig returns a copy of base that negotiates HTTP/1.1, the only
// protocol the handshake speaks.
func tlsConfig(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	if cfg == nil {
		cfg = new(tls.Config)
	}
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// ioError wraps an I/O error of the given phase, preferring ctx's error
// when ctx is done: the failure is then the deadline Dial set on purpose.
func ioError(ctx context.Context, phase string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("handshake: %s: %w", phase, err)
}

// limitReader lets at most n bytes through, then fails; n < 0 means no
// limit. It bounds what bufio may buffer while headers are parsed, and is
// lifted before frames are read.
type limitReader struct {
	r   io.Reader
	n   int
	hit bool // the limit refused a read
}

var errHeaderTooLarge = errors.New("handshake: response header too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		l.hit = true
		return 0, errHeaderTooLarge
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= n
	return n, err
}
