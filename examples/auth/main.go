// Auth checks credentials before the WebSocket upgrade: /ws answers 401
// unless the request has a session cookie (browsers, which cannot set
// headers on a WebSocket: log in at /) or an "Authorization: Bearer"
// token (programs).
//
//	go run ./examples/auth [-addr localhost:30002] [-token TOKEN]
//	go run ./examples/auth -dial ws://localhost:30002/ws -token TOKEN
//
// The first serves and prints the API token; the second dials with it.
package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ab7c482b/websocket/ws"
)

const (
	loginPage = `<!doctype html><meta charset="utf-8"><title>Log in</title>
<form method="post" action="/login"><label>Name <input name="name" required></label> <button>Log in</button></form>`
	page = `<!doctype html><meta charset="utf-8"><title>Authenticated</title><p id="out">connecting…</p><script>
new WebSocket('ws' + location.origin.slice(4) + '/ws').onmessage = (e) => document.getElementById('out').textContent = e.data;
</script>`
)

func main() {
	addr := flag.String("addr", "localhost:30002", "`host:port` to listen on")
	token := flag.String("token", rand.Text(), "the API token to accept, or with -dial to send")
	dialURL := flag.String("dial", "", "instead of serving, dial this `ws:// URL` with the token")
	flag.Parse()
	if *dialURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := dial(ctx, *dialURL, *token); err != nil {
			log.Fatal("auth: ", err)
		}
		return
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal("auth: ", err)
	}
	s := &server{token: *token, sessions: make(map[string]string)}
	fmt.Printf("auth: serving http://%s (API token %s)\n", ln.Addr(), *token)
	srv := &http.Server{
		Handler: s.handler(),
		// Drop clients that send their headers slowly, send huge ones or
		// sit idle between requests.
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    16 << 10,
		IdleTimeout:       time.Minute,
	}
	log.Fatal(srv.Serve(ln))
}

// dial connects with the token in an Authorization header, prints the
// server's greeting and closes.
func dial(ctx context.Context, url, token string) error {
	h := http.Header{"Authorization": {"Bearer " + token}}
	c, _, err := ws.Dial(ctx, url, &ws.DialOptions{Header: h})
	if err != nil {
		return err // a *handshake.Error with Status 401 when the token is wrong
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s\n", msg)
	return c.Close(ws.StatusNormalClosure, "")
}

type server struct {
	token    string
	mu       sync.Mutex
	sessions map[string]string // session cookie → user name
}

// user returns who made the request, if anyone.
func (s *server) user(r *http.Request) (string, bool) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return "API client", subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) == 1
	}
	c, err := r.Cookie("session")
	if err != nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name, ok := s.sessions[c.Value]
	return name, ok
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if _, ok := s.user(r); ok {
			io.WriteString(w, page)
		} else {
			io.WriteString(w, loginPage)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostFormValue("name"))
		if name == "" || len(name) > 40 {
			http.Error(w, "a name, please", http.StatusBadRequest)
			return
		}
		id := rand.Text()
		s.mu.Lock()
		s.sessions[id] = name
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		name, ok := s.user(r)
		if !ok { // refuse before the upgrade: no WebSocket for strangers
			w.Header().Set("WWW-Authenticate", `Bearer realm="auth example"`)
			http.Error(w, "log in or send a bearer token", http.StatusUnauthorized)
			return
		}
		// Accept's origin check matters here: with cookies, any site's
		// page could otherwise open this socket as the user.
		c, err := ws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Write(r.Context(), ws.MessageText, []byte("hello, "+name+": you are authenticated"))
		for { // wait for the close, answering pings
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	})
	return mux
}
