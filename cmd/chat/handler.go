package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ab7c482b/websocket/ws"
)

//go:embed index.html
var indexHTML []byte

//go:embed favicon.svg
var faviconSVG []byte

// maxEpoch bounds the epoch a page may send back; the room's are 16
// characters.
const maxEpoch = 64

// handlerOptions configures newHandler.
type handlerOptions struct {
	// Accept configures the WebSocket handshake at /ws: origins,
	// keepalive, read limit.
	Accept ws.AcceptOptions
	Logger *slog.Logger
}

// newHandler serves the page at /, its icon, and the room at /ws.
func newHandler(room *Room, opts handlerOptions) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	accept := opts.Accept
	csp := pageCSP(indexHTML)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		w.Write(indexHTML)
	})
	mux.HandleFunc("GET /favicon.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "max-age=86400")
		w.Write(faviconSVG)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		req := joinRequest{Name: q.Get("name"), Remote: r.RemoteAddr}
		if s := q.Get("since"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				http.Error(w, "since must be a sequence number", http.StatusBadRequest)
				return
			}
			req.Since, req.HasSince = n, true
		}
		if e := q.Get("epoch"); len(e) <= maxEpoch {
			req.Epoch = e
		} else {
			http.Error(w, "epoch is too long", http.StatusBadRequest)
			return
		}
		conn, err := ws.Accept(w, r, &accept)
		if err != nil {
			// Accept has replied with the HTTP error already.
			log.Info("handshake refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "err", err)
			return
		}
		room.Serve(conn, req)
	})
	return mux
}

// pageCSP returns a Content-Security-Policy for page that allows its
// inline <style> and <script> by hash, connections to its own origin,
// and nothing else: no other script, no external resource of any kind.
func pageCSP(page []byte) string {
	return "default-src 'none'; " +
		"style-src " + inlineHash(page, "style") + "; " +
		"script-src " + inlineHash(page, "script") + "; " +
		"connect-src 'self'; img-src 'self'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// inlineHash returns the CSP source expression for the first <tag>
// element of page. It panics if there is none: the page is embedded, so
// that is a programming error.
func inlineHash(page []byte, tag string) string {
	_, rest, ok := bytes.Cut(page, []byte("<"+tag+">"))
	body, _, ok2 := bytes.Cut(rest, []byte("</"+tag+">"))
	if !ok || !ok2 {
		panic("chat: index.html has no <" + tag + "> element")
	}
	sum := sha256.Sum256(body)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
