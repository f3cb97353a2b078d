package handshake

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
)

// proxyAddr returns the host:port to dial for an http:// or https:// proxy.
func proxyAddr(p *url.URL) (string, error) {
	var port string
	switch p.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return "", fmt.Errorf("handshake: unsupported proxy scheme %q; want http or https", p.Scheme)
	}
	if p.Hostname() == "" {
		return "", fmt.Errorf("handshake: proxy URL %q has no host", p.Redacted())
	}
	if p.Port() != "" {
		port = p.Port()
	}
	return net.JoinHostPort(p.Hostname(), port), nil
}

// connect asks the proxy on conn for a tunnel to target, as RFC 6455 §4.1
// step 3 describes, with Proxy-Authorization: Basic from the proxy URL's
// user info.
func connect(ctx context.Context, conn net.Conn, proxyURL *url.URL, target string, maxHeaderBytes int) error {
	b := make([]byte, 0, 128)
	b = append(b, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n"...)
	if u := proxyURL.User; u != nil {
		password, _ := u.Password()
		b = append(b, "Proxy-Authorization: Basic "...)
		b = base64.StdEncoding.AppendEncode(b, []byte(u.Username()+":"+password))
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	if _, err := conn.Write(b); err != nil {
		return ioError(ctx, "proxy CONNECT", err)
	}
	lr := &limitReader{r: conn, n: maxHeaderBytes}
	br := bufio.NewReader(lr)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		if lr.hit {
			return fmt.Errorf("handshake: proxy CONNECT response header larger than %d bytes", maxHeaderBytes)
		}
		return ioError(ctx, "proxy CONNECT", err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("handshake: proxy refused CONNECT: %s", strconv.Quote(resp.Status))
	}
	// The server cannot have spoken yet: the client sends first, be it the
	// TLS hello or the HTTP request. Bytes here would be lost or forged.
	if br.Buffered() > 0 {
		return fmt.Errorf("handshake: proxy sent data after its CONNECT response")
	}
	return nil
}
