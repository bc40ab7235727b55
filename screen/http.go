package screen

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed page.html
var pageHTML string

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

// streamLife caps one event stream (the page's EventSource reconnects at
// once), so a connection nobody reads cannot hold a client slot for ever.
const streamLife = 5 * time.Minute

// writeTimeout drops a page whose connection takes longer than this to
// accept one event: it holds a slot and its goroutine, and a screen that far
// behind shows nothing current anyway.
const writeTimeout = 5 * time.Second

// Handler serves the screen. Mount it under a folder:
//
//	mux.Handle("/screen/", scr.Handler())
//
// It answers, by the last element of the path:
//
//	""           the full-screen page
//	"events"     text/event-stream of Views (event "screen", JSON data)
//	"state.json" the current View
//
// Streams end when Run returns: cancel Run before http.Server.Shutdown.
func (s *Screen) Handler() http.Handler {
	page, csp := buildPage()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		switch {
		case strings.HasSuffix(r.URL.Path, "/"):
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Frame-Options", "DENY")
			w.Write(page)
		case path.Base(r.URL.Path) == "events":
			s.serveEvents(w, r)
		case path.Base(r.URL.Path) == "state.json":
			h.Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(s.Current())
		default:
			http.NotFound(w, r)
		}
	})
}

func (s *Screen) serveEvents(w http.ResponseWriter, r *http.Request) {
	if n := s.clients.Add(1); int(n) > s.o.MaxClients {
		s.clients.Add(-1)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many screens connected", http.StatusServiceUnavailable)
		s.log.Warn("screen: event stream refused: too many open", "max", s.o.MaxClients)
		return
	}
	defer s.clients.Add(-1)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	send := func(b []byte) bool {
		if err := rc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			return false
		}
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// retry: how soon the page reconnects after kioskd restarts.
	if !send([]byte("retry: 1000\n\n")) {
		return
	}
	life := time.NewTimer(streamLife)
	defer life.Stop()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	var sent uint64
	for {
		v, changed := s.watch()
		if v.Seq != sent {
			b, _ := json.Marshal(v)
			if !send([]byte("event: screen\ndata: " + string(b) + "\n\n")) {
				return
			}
			sent = v.Seq
		}
		select {
		case <-changed:
		case <-ping.C:
			if !send([]byte(": ping\n\n")) {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.stopped:
			return
		case <-life.C:
			return
		}
	}
}

// buildPage inlines the style and script and returns the page with a
// Content-Security-Policy allowing exactly those two blocks and event
// streams from this origin: nothing else can load, run or be sent anywhere.
func buildPage() ([]byte, string) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	html := strings.Replace(pageHTML, "/*STYLE*/", pageCSS, 1)
	html = strings.Replace(html, "/*SCRIPT*/", pageJS, 1)
	csp := "default-src 'none'; style-src " + hash(pageCSS) + "; script-src " + hash(pageJS) +
		"; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return []byte(html), csp
}
