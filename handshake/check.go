package handshake

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// CheckRequest validates a client's opening handshake as RFC 6455 §4.2.1
// describes it. It requires
//
//   - method GET (§4.2.1 item 1), else status 405;
//   - HTTP/1.1 or later (item 1) and no request body, else 400;
//   - a Host (item 2), else 400;
//   - an Upgrade header with the token "websocket" (item 3) and a
//     Connection header with the token "upgrade" (item 4), compared
//     case-insensitively in comma-separated lists over any number of header
//     lines, else 400;
//   - exactly one Sec-WebSocket-Version, equal to 13 (item 6), else 426;
//     the caller must then reply with "Sec-WebSocket-Version: 13" (§4.2.2
//     step 4, /version/);
//   - exactly one Sec-WebSocket-Key that base64-decodes to 16 bytes
//     (item 5), else 400.
//
// A failed check returns an [*Error] whose Status is the reply to send and
// whose Reason names the failed requirement. CheckRequest does not look at
// Origin; see [CheckOrigin]. It takes time linear in the size of the
// headers.
func CheckRequest(r *http.Request) error {
	if r.Method != http.MethodGet {
		return &Error{Status: http.StatusMethodNotAllowed, Reason: "method " + quote(r.Method) + " not allowed; want GET"}
	}
	if !r.ProtoAtLeast(1, 1) {
		return badRequest("protocol " + quote(r.Proto) + " not supported; want HTTP/1.1 or later")
	}
	// A request body would be read from the hijacked connection as if it
	// were frames, so a handshake carrying one is malformed.
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return badRequest("request must not have a body")
	}
	if r.Host == "" {
		return badRequest("missing Host")
	}
	if !hasToken(r.Header[hdrUpgrade], "websocket") {
		return badRequest(`Upgrade header does not contain "websocket"`)
	}
	if !hasToken(r.Header[hdrConnection], "upgrade") {
		return badRequest(`Connection header does not contain "Upgrade"`)
	}
	// Check the version before the key so that a client speaking another
	// version learns which one to retry with (RFC 6455 §4.4).
	switch v := r.Header[hdrVersion]; {
	case len(v) == 0:
		return upgradeRequired("missing Sec-WebSocket-Version; want 13")
	case len(v) > 1:
		return badRequest("more than one Sec-WebSocket-Version header")
	case trimOWS(v[0]) != "13":
		return upgradeRequired("unsupported Sec-WebSocket-Version " + quote(trimOWS(v[0])) + "; want 13")
	}
	switch k := r.Header[hdrKey]; {
	case len(k) == 0:
		return badRequest("missing Sec-WebSocket-Key")
	case len(k) > 1:
		return badRequest("more than one Sec-WebSocket-Key header")
	default:
		return checkKey(trimOWS(k[0]))
	}
}

// checkKey enforces RFC 6455 §4.2.1 item 5: the key is base64 (RFC 4648 §4)
// of exactly 16 bytes. Padding bits are not required to be zero, because
// the RFC's own example key (§4.1, "AQIDBAUGBwgJCgsMDQ4PEC==") sets them.
func checkKey(key string) error {
	// The decoder skips CR and LF; a key containing them is not base64.
	if strings.ContainsAny(key, "\r\n") {
		return badRequest("Sec-WebSocket-Key is not valid base64")
	}
	if len(key) > 64 {
		return badRequest("Sec-WebSocket-Key is too long; want 16 bytes base64-encoded")
	}
	var buf [48]byte // base64.StdEncoding.DecodedLen(64)
	n, err := base64.StdEncoding.Decode(buf[:], []byte(key))
	if err != nil {
		return badRequest("Sec-WebSocket-Key is not valid base64")
	}
	if n != 16 {
		return badRequest("Sec-WebSocket-Key decodes to " + strconv.Itoa(n) + " bytes; want 16")
	}
	return nil
}

// CheckOrigin applies the default origin policy of [Upgrade], in the spirit
// of RFC 6455 §10.2:
//
//   - a request without an Origin header passes: browsers always send one
//     (§4.1 item 8), other clients need not, and Origin protects only
//     against scripts in browsers;
//   - an Origin whose host equals r.Host passes (case-insensitive; ports are
//     part of the host and must match too, so "http://example.com" does not
//     match a Host of "example.com:8080");
//   - otherwise the Origin's host (with port, if any) must match one of
//     patterns with [path.Match], case-insensitively: "*.example.com"
//     (which does not match "example.com" itself), "localhost:*".
//
// Anything else, including an Origin that is not an absolute URL with a
// host (such as "null"), more than one Origin header, or a malformed
// pattern, returns an [*Error] with Status 403.
func CheckOrigin(r *http.Request, patterns []string) error {
	values := r.Header[hdrOrigin]
	if len(values) == 0 {
		return nil
	}
	if len(values) > 1 {
		return forbidden("more than one Origin header")
	}
	u, err := url.Parse(values[0])
	if err != nil || u.Scheme == "" || u.Host == "" {
		return forbidden("malformed Origin " + quote(values[0]))
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	host := strings.ToLower(u.Host)
	for _, p := range patterns {
		ok, err := path.Match(strings.ToLower(p), host)
		if err != nil {
			return forbidden("malformed origin pattern " + quote(p))
		}
		if ok {
			return nil
		}
	}
	return forbidden("origin " + quote(values[0]) + " not allowed")
}

// Subprotocols returns the subprotocols the client offers in its
// Sec-WebSocket-Protocol headers (RFC 6455 §4.1 item 10), in its order of
// preference: every header line, split at commas, trimmed, empty elements
// dropped. It returns nil when none are offered.
func Subprotocols(h http.Header) []string {
	return listElements(h[hdrProtocol])
}

func badRequest(reason string) *Error {
	return &Error{Status: http.StatusBadRequest, Reason: reason}
}

func forbidden(reason string) *Error {
	return &Error{Status: http.StatusForbidden, Reason: reason}
}

func upgradeRequired(reason string) *Error {
	return &Error{Status: http.StatusUpgradeRequired, Reason: reason}
}
