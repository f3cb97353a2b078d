package ws

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"

	"github.com/ab7c482b/websocket/handshake"
)

// AcceptOptions configures Accept. The zero value accepts same-origin and
// non-browser clients with no subprotocol and the default Config.
type AcceptOptions struct {
	Config
	// Subprotocols lists the subprotocols the server speaks, in order of
	// preference; the first one the client also offered is chosen. With
	// none in common the connection has no subprotocol.
	Subprotocols []string
	// OriginPatterns lists host patterns (path.Match syntax, such as
	// "*.example.com" or "localhost:*") of the browser origins allowed
	// besides the request's own host. A request from any other origin is
	// refused with 403 Forbidden: without this check, any web page a user
	// visits could open a connection with the user's cookies. Requests
	// without an Origin header (non-browser clients) are always allowed.
	OriginPatterns []string
	// CheckOrigin, if set, replaces the origin policy above; a non-nil
	// error refuses the request with 403.
	CheckOrigin func(r *http.Request) error
	// Header holds extra headers for the 101 response, such as Set-Cookie.
	Header http.Header
}

// Accept completes the server's opening handshake on an HTTP request
// (RFC 6455 §4.2) and returns the connection. opts may be nil.
//
// If the request is not an acceptable WebSocket handshake, Accept has
// already written the HTTP error response (400, 403, 405 or 426 with
// "Sec-WebSocket-Version: 13") and returns a *handshake.Error saying why.
// It works through middleware that wraps the ResponseWriter, as long as
// the wrapper has an Unwrap method (see http.ResponseController). After
// Accept returns a Conn, the handler must not use w or r.Body again; the
// Conn outlives the handler.
func Accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	var o AcceptOptions
	if opts != nil {
		o = *opts
	}
	uo := &handshake.UpgradeOptions{
		Subprotocols:   o.Subprotocols,
		CheckOrigin:    o.CheckOrigin,
		OriginPatterns: o.OriginPatterns,
		Header:         o.Header,
	}
	if o.Compression != CompressionDisabled {
		uo.Extensions = func(offers []handshake.Extension) ([]handshake.Extension, error) {
			if ext, _, ok := acceptDeflate(o.Compression, offers); ok {
				return []handshake.Extension{ext}, nil
			}
			return nil, nil // decline: the connection is not compressed
		}
	}
	res, err := handshake.Upgrade(w, r, uo)
	if err != nil {
		return nil, err
	}
	fl := handshakeSource(res.Reader, res.Conn)
	return NewConn(res.Conn, &ConnOptions{
		Config:      o.Config,
		Subprotocol: res.Subprotocol,
		Extensions:  res.Extensions,
		flusher:     fl,
	}), nil
}

// handshakeSource returns what a Conn's read buffer reads from after the
// handshake: conn itself, after whatever the handshake's reader had
// buffered. The handshake's reader may sit on layers (net/http's
// connection reader, a header size limit) that would cost on every read
// for the life of the connection; NewConn makes the buffer.
//
// The source is a readFlusher, which sends the replies a Conn holds back
// while more of the peer's messages wait (see Conn.send) before it waits
// for more.
func handshakeSource(br *bufio.Reader, conn net.Conn) *readFlusher {
	fl := &readFlusher{r: conn}
	if n := br.Buffered(); n > 0 {
		early, _ := br.Peek(n)
		fl.r = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
	}
	return fl
}
