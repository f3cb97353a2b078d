package handshake

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"time"
)

// UpgradeOptions configures [Upgrade]. A nil *UpgradeOptions means the zero
// value: no subprotocol, the default origin policy with no patterns, no
// extension, no extra header. Upgrade does not modify the options, so one
// value may be shared by concurrent calls as long as no one changes it.
type UpgradeOptions struct {
	// Subprotocols lists the subprotocols the server supports, in its order
	// of preference. The first of these that the client offered is selected
	// (RFC 6455 §4.2.2, /subprotocol/); matching is case-sensitive. If none
	// matches, no subprotocol is selected, which is not an error.
	Subprotocols []string

	// CheckOrigin, when non-nil, replaces the default origin policy,
	// CheckOrigin(r, OriginPatterns). Returning an [*Error] with a 4xx or
	// 5xx Status refuses the handshake with that status and its Reason; any
	// other error refuses it with 403 and the error's text.
	CheckOrigin func(r *http.Request) error

	// OriginPatterns are the extra hosts the default policy accepts; see
	// [CheckOrigin]. They are ignored when the CheckOrigin field is set.
	OriginPatterns []string

	// Extensions, when non-nil, is called with the client's parsed
	// Sec-WebSocket-Extensions offers (only when there is at least one) and
	// returns those accepted, in the order they apply (RFC 6455 §9.1); they
	// are written in the 101 response. Each accepted name must be one the
	// client offered (§9), else Upgrade replies 500. Returning an error
	// refuses the handshake: with 400, or with the Status of an [*Error]
	// as for CheckOrigin. When nil, no extension is accepted. A malformed
	// offer is refused with 400 either way (§9.1).
	Extensions func(offers []Extension) ([]Extension, error)

	// Header holds extra headers for the 101 response, such as Set-Cookie.
	// It may not set the headers the handshake writes itself: Upgrade,
	// Connection, Sec-WebSocket-Accept, Sec-WebSocket-Protocol,
	// Sec-WebSocket-Extensions, Content-Length or Transfer-Encoding.
	Header http.Header
}

// Result is a connection past its opening handshake, returned by [Upgrade]
// and [Dial]; the caller owns it and must close Conn. Conn is as safe for
// concurrent use as any net.Conn, but Reader is not safe for concurrent
// use: one goroutine at a time reads.
type Result struct {
	// Conn is the connection, with no deadline set. On the client it is a
	// *tls.Conn for wss://.
	Conn net.Conn

	// Reader reads from Conn. It may already hold bytes the peer sent right
	// after its handshake (the first frames), so all reading must go
	// through Reader, never through Conn directly.
	Reader *bufio.Reader

	// Subprotocol is the selected subprotocol, or "" for none.
	Subprotocol string

	// Extensions are the extensions in use: those the server accepted
	// (on the server) or that the server's response lists (on the client).
	Extensions []Extension
}

// reservedResponse are the headers Upgrade writes itself; the 101 has no
// body, so framing headers are refused too.
var reservedResponse = []string{
	hdrUpgrade, hdrConnection, hdrAccept, hdrProtocol, hdrExtensions,
	"Content-Length", "Transfer-Encoding",
}

// Upgrade performs the server's side of the opening handshake (RFC 6455
// §4.2).
//
// It checks r with [CheckRequest], then the origin policy (opts.CheckOrigin
// or [CheckOrigin]), then the extension offers. On failure it writes the
// HTTP error response itself, with the error's status and its Reason as a
// plain-text body, plus "Sec-WebSocket-Version: 13" for 426 (§4.2.2) and
// "Allow: GET" for 405, and returns the [*Error].
//
// On success it hijacks the connection through
// [http.NewResponseController], so it works behind middleware whose
// ResponseWriter implements Unwrap, clears any deadline net/http set on
// the connection, and writes the 101 Switching Protocols response (§4.2.2
// step 5). The returned [Result] owns the connection; its Reader is the
// one net/http used, with any bytes the client sent after its request.
//
// If the ResponseWriter cannot be hijacked (HTTP/2, or a wrapper without
// Unwrap), or opts is unusable (say opts.Header sets Upgrade), Upgrade
// replies 500 and returns an error that wraps an [*Error] with Status 500.
// If writing the 101 fails, it closes the connection and returns that
// error. opts may be nil.
func Upgrade(w http.ResponseWriter, r *http.Request, opts *UpgradeOptions) (*Result, error) {
	var o UpgradeOptions
	if opts != nil {
		o = *opts
	}
	if err := CheckRequest(r); err != nil {
		return nil, refuse(w, err.(*Error))
	}
	var err error
	if o.CheckOrigin != nil {
		err = o.CheckOrigin(r)
	} else {
		err = CheckOrigin(r, o.OriginPatterns)
	}
	if err != nil {
		return nil, refuse(w, asError(err, http.StatusForbidden))
	}
	offers, err := ParseExtensions(r.Header)
	if err != nil {
		return nil, refuse(w, badRequest(err.(*extensionError).reason()))
	}
	var accepted []Extension
	if o.Extensions != nil && len(offers) > 0 {
		if accepted, err = o.Extensions(offers); err != nil {
			return nil, refuse(w, asError(err, http.StatusBadRequest))
		}
	}
	subprotocol := selectSubprotocol(o.Subprotocols, Subprotocols(r.Header))
	resp, reason := appendResponse(nil, trimOWS(r.Header[hdrKey][0]), subprotocol, offers, accepted, o.Header)
	if reason != "" {
		return nil, refuse(w, &Error{Status: http.StatusInternalServerError, Reason: reason})
	}

	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		herr := refuse(w, &Error{Status: http.StatusInternalServerError, Reason: "cannot hijack the connection"})
		return nil, fmt.Errorf("%w: %w", herr, err)
	}
	// net/http may have left read or write deadlines from its server
	// timeouts; the connection now belongs to the caller.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: clear deadline: %w", err)
	}
	if _, err := conn.Write(resp); err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: write response: %w", err)
	}
	return &Result{
		Conn:        conn,
		Reader:      brw.Reader,
		Subprotocol: subprotocol,
		Extensions:  accepted,
	}, nil
}

// refuse writes e as a plain-text HTTP error response and returns it.
func refuse(w http.ResponseWriter, e *Error) *Error {
	h := w.Header()
	switch e.Status {
	case http.StatusUpgradeRequired:
		// RFC 6455 §4.2.2 /version/: say which version we speak. RFC 7231
		// §6.5.15: a 426 names the protocol to upgrade to.
		h.Set("Sec-WebSocket-Version", "13")
		h.Set(hdrUpgrade, "websocket")
		h.Set(hdrConnection, "Upgrade")
	case http.StatusMethodNotAllowed:
		h.Set("Allow", http.MethodGet) // RFC 7231 §6.5.5
	}
	http.Error(w, e.Reason, e.Status)
	return e
}

// asError returns err as an *Error, giving it status when it is not one.
func asError(err error, status int) *Error {
	var e *Error
	if errors.As(err, &e) && e.Status >= 400 && e.Status <= 599 {
		return e
	}
	return &Error{Status: status, Reason: err.Error()}
}

// selectSubprotocol returns the first of supported that the client offered.
func selectSubprotocol(supported, offered []string) string {
	for _, s := range supported {
		if slices.Contains(offered, s) {
			return s
		}
	}
	return ""
}

// appendResponse appends the 101 response of RFC 6455 §4.2.2 step 5 to b.
// It returns a reason instead when the server's own choices cannot be
// written: an accepted extension the client never offered (§9 forbids it),
// or a header that would corrupt the response.
func appendResponse(b []byte, key, subprotocol string, offers, accepted []Extension, extra http.Header) ([]byte, string) {
	for _, e := range accepted {
		if !slices.ContainsFunc(offers, func(o Extension) bool { return o.Name == e.Name }) {
			return nil, "extension " + quote(e.Name) + " accepted but not offered"
		}
		for _, p := range e.Params {
			if !isToken(p.Name) {
				return nil, "invalid parameter name " + quote(p.Name) + " in extension " + e.Name
			}
		}
	}
	exts := FormatExtensions(accepted)
	if !validFieldValue(exts) || !validFieldValue(subprotocol) {
		return nil, "invalid Sec-WebSocket-Extensions or Sec-WebSocket-Protocol value"
	}
	if reason := checkHeader(extra, reservedResponse); reason != "" {
		return nil, reason
	}
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "...)
	b = append(b, AcceptKey(key)...)
	b = append(b, "\r\n"...)
	if subprotocol != "" {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, subprotocol...)
		b = append(b, "\r\n"...)
	}
	if exts != "" {
		b = append(b, "Sec-WebSocket-Extensions: "...)
		b = append(b, exts...)
		b = append(b, "\r\n"...)
	}
	// Sorted, so the response is the same bytes every time.
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		for _, v := range extra[name] {
			b = append(b, name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...), ""
}
