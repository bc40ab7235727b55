package status

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Preview gives the latest camera frame as a JPEG, for aiming and focusing
// the camera from the status page.
type Preview interface {
	// WriteJPEG encodes the latest frame to w. It returns ErrNoFrame (or an
	// error wrapping it) when no frame has been captured yet.
	WriteJPEG(w io.Writer) error
}

// ErrNoFrame is what a Preview returns before the first frame.
var ErrNoFrame = errors.New("no camera frame yet")

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// Token, when not empty, is required on every request, as
	// "Authorization: Bearer TOKEN" or "?token=TOKEN" (the page keeps the
	// latter for its own requests). Empty: no check (loopback listener).
	Token string
	// Logger gets failures (never the token); nil discards them.
	Logger *slog.Logger
}

//go:embed page.html
var pageHTML string

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

// Handler serves the status views of one kiosk:
//
//	/             the status page (HTML, no external assets; refreshes itself)
//	/status.json  the Snapshot as JSON
//	/preview.jpg  the latest camera frame (404 without a Preview, 503 before the first frame)
//	/healthz      200 "ok" when healthy, 503 and the problems otherwise
//
// pv may be nil (no preview). Mount it at the root of the listener; the
// daemon adds /metrics beside it (wrapped in RequireToken when a token is set).
func Handler(p Provider, pv Preview, o HandlerOptions) http.Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	page, csp := buildPage()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		noStore(w)
		w.Write(page)
	})
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		b, err := json.MarshalIndent(p.Snapshot().Complete(), "", "  ")
		if err != nil {
			log.Error("status: encoding snapshot", "err", err)
			http.Error(w, "encoding status failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		noStore(w)
		w.Write(append(b, '\n'))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		s := p.Snapshot()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		noStore(w)
		if s.Healthy {
			w.Write([]byte("ok\n"))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		msg := "not healthy\n"
		for _, pr := range s.Problems {
			msg += OneLine(pr) + "\n"
		}
		w.Write([]byte(msg))
	})
	mux.HandleFunc("GET /preview.jpg", func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if pv == nil {
			http.Error(w, "no camera preview on this kiosk", http.StatusNotFound)
			return
		}
		// Encode fully before answering, so a failure is a clean error
		// status rather than half an image.
		var buf bytes.Buffer
		if err := pv.WriteJPEG(&buf); err != nil {
			if !errors.Is(err, ErrNoFrame) {
				log.Warn("status: camera preview failed", "err", err)
			}
			http.Error(w, "no preview: "+OneLine(err.Error()), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(buf.Bytes())
	})
	var h http.Handler = mux
	h = headers(h)
	if o.Token != "" {
		h = RequireToken(o.Token, h)
	}
	return h
}

// RequireToken wraps h so that every request must carry token, as
// "Authorization: Bearer TOKEN" or "?token=TOKEN". The comparison takes the
// same time whatever the guess. An empty token lets everything through.
func RequireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.URL.Query().Get("token")
		if a := r.Header.Get("Authorization"); a != "" {
			if scheme, cred, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
				got = strings.TrimSpace(cred)
			}
		}
		// Hash both sides: ConstantTimeCompare is only constant-time for
		// equal lengths, and the hashes hide the token's length.
		g := sha256.Sum256([]byte(got))
		if got == "" || subtle.ConstantTimeCompare(g[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kioskd"`)
			http.Error(w, "unauthorized: add ?token=... or an Authorization: Bearer header", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// headers sets what every response of the status listener carries: the
// token may travel in the URL, so no referrer ever leaves the page.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }

// buildPage inlines the style and script into the page and returns it with
// a Content-Security-Policy that allows exactly those two inline blocks and
// requests to this origin: nothing else can run, load, or be sent elsewhere.
func buildPage() (page []byte, csp string) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	html := strings.Replace(pageHTML, "/*STYLE*/", pageCSS, 1)
	html = strings.Replace(html, "/*SCRIPT*/", pageJS, 1)
	csp = "default-src 'none'; style-src " + hash(pageCSS) + "; script-src " + hash(pageJS) +
		"; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return []byte(html), csp
}
