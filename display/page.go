package display

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"path"
	"time"
)

//go:embed page.html
var pageHTML string

// pageTmpl is parsed once; a parse error is a build-time bug caught by tests.
var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

// event is one screen as the page receives it.
type event struct {
	State  string `json:"state"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	SVG    string `json:"svg,omitempty"`
	Seq    uint64 `json:"seq"`
}

func eventOf(s Screen) event {
	return event{State: s.State.String(), Title: s.State.Title(), Detail: s.State.Detail(), SVG: s.svg, Seq: s.Seq}
}

// streamLife caps one event stream; the browser's EventSource reconnects at
// once, and a stalled connection cannot live forever.
const streamLife = 5 * time.Minute

// Handler serves the screen. Mount it under a folder, e.g.
//
//	mux.Handle("/display/", ctrl.Handler())
//
// It answers, by the last element of the path:
//
//	""            the full-screen page (server-rendered, then live)
//	"events"      text/event-stream of screens (event "screen", JSON data)
//	"state.json"  the current screen as JSON (for polling and scripts)
//	"qr.svg"      the current QR code (404 when none is shown)
//
// Event streams end when Run returns (or after five minutes, when the
// browser reconnects): cancel Run before http.Server.Shutdown, or Shutdown
// waits for them. The page and its streams hold nothing secret: the challenge id is meant to
// be seen by anyone in front of the kiosk.
func (c *Controller) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		switch last := path.Base(r.URL.Path); {
		case len(r.URL.Path) > 0 && r.URL.Path[len(r.URL.Path)-1] == '/':
			c.servePage(w)
		case last == "events":
			c.serveEvents(w, r)
		case last == "state.json":
			s, _ := c.board.get()
			h.Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(eventOf(s))
		case last == "qr.svg":
			s, _ := c.board.get()
			if s.svg == "" {
				http.NotFound(w, r)
				return
			}
			h.Set("Content-Type", "image/svg+xml")
			w.Write([]byte(s.svg))
		default:
			http.NotFound(w, r)
		}
	})
}

func (c *Controller) servePage(w http.ResponseWriter) {
	s, _ := c.board.get()
	e := eventOf(s)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Everything is inline; nothing else may load.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
	data := struct {
		event
		SVGHTML template.HTML // rendered by renderQR from our own encoder output
	}{e, template.HTML(e.SVG)}
	if err := pageTmpl.Execute(w, data); err != nil {
		c.log.Debug("writing page", "err", err)
	}
}

func (c *Controller) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	// retry: how soon the page reconnects after kioskd restarts.
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	life := time.NewTimer(streamLife)
	defer life.Stop()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	var sent uint64
	first := true
	for {
		s, changed := c.board.get()
		if first || s.Seq != sent {
			b, _ := json.Marshal(eventOf(s))
			if _, err := w.Write([]byte("event: screen\ndata: " + string(b) + "\n\n")); err != nil {
				return
			}
			fl.Flush()
			sent, first = s.Seq, false
		}
		select {
		case <-changed:
		case <-ping.C:
			// A comment line keeps proxies and the browser from timing out.
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
			fl.Flush()
		case <-r.Context().Done():
			return
		case <-c.stopped:
			return
		case <-life.C:
			return
		}
	}
}
