package desk

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/kioskd/kioskd/status"
)

//go:embed page.html
var pageHTML string

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

// maxBody bounds a request's JSON: a code in its URL form is well under
// 1 KiB, a reason 200 characters.
const maxBody = 4 << 10

// Handler serves the desk. Mount it under a folder:
//
//	mux.Handle("/desk/", dk.Handler())
//
//	GET  /desk/         the page (static: it asks for the staff token)
//	GET  /desk/whoami   {"name": ...} for the token
//	POST /desk/check    {"code": TEXT} → the verdict in words (never the code)
//	POST /desk/open     {"reason": TEXT} → the door opened, recorded
//
// Every request but the page needs "Authorization: Bearer TOKEN" with a
// staff token (401 otherwise); POSTs must be same-origin JSON (403).
func (d *Desk) Handler() http.Handler {
	page, csp := buildPage()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /desk/{$}", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		w.Write(page)
	})
	mux.HandleFunc("GET /desk/whoami", d.staffOnly(func(w http.ResponseWriter, r *http.Request, name string) {
		writeJSON(w, http.StatusOK, map[string]string{"name": name})
	}))
	mux.HandleFunc("POST /desk/check", d.staffOnly(d.check))
	mux.HandleFunc("POST /desk/open", d.staffOnly(d.open))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		mux.ServeHTTP(w, r)
	})
}

// staffOnly admits a request carrying a staff token, and for a POST only a
// same-origin JSON one.
func (d *Desk) staffOnly(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if why := crossSite(r); why != "" {
				d.refused.Add(1)
				d.log.Warn("desk: cross-site request refused", "path", r.URL.Path, "why", why, "remote", r.RemoteAddr)
				writeJSON(w, http.StatusForbidden, errBody("refused: "+why))
				return
			}
		}
		name := d.who(bearer(r))
		if name == "" {
			d.refused.Add(1)
			d.log.Warn("desk: request without a valid staff token", "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="kioskd desk"`)
			writeJSON(w, http.StatusUnauthorized, errBody("a staff token is needed"))
			return
		}
		next(w, r, name)
	}
}

// bearer is the request's "Authorization: Bearer" token ("" if none). A
// token in the URL is not taken: a cross-site page can put one in a link.
func bearer(r *http.Request) string {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// crossSite says why a POST is not a same-origin JSON request ("" if it is).
func crossSite(r *http.Request) string {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return "not JSON"
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return "sent by another site"
	}
	if o := r.Header.Get("Origin"); o != "" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		if !strings.EqualFold(o, scheme+r.Host) {
			return "another origin"
		}
	}
	return ""
}

// checkResult is a verdict as the desk shows it: never the code, nor its
// hash or address.
type checkResult struct {
	Accept  bool   `json:"accept"`
	Title   string `json:"title"`
	Reason  string `json:"reason"` // the stable name, e.g. already-used
	Words   string `json:"words"`  // in plain words
	Name    string `json:"name,omitempty"`
	Warning string `json:"warning,omitempty"`
	At      string `json:"at"`
}

func (d *Desk) check(w http.ResponseWriter, r *http.Request, staff string) {
	var req struct {
		Code string `json:"code"`
	}
	if err := readJSON(w, r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, errBody(err.Error()))
		return
	}
	if strings.TrimSpace(req.Code) == "" {
		writeJSON(w, http.StatusBadRequest, errBody("no code"))
		return
	}
	d.checks.Add(1)
	v := d.o.Checker.Check(r.Context(), req.Code)
	res := checkResult{Accept: v.Accept, Reason: v.Reason.String(), Words: v.Explain(d.o.Location),
		Name: status.OneLine(v.Name), Warning: v.Warning, At: v.At.In(d.o.Location).Format("15:04:05")}
	switch {
	case !v.Accept:
		res.Title = "Not accepted"
	case d.o.CheckIn:
		res.Title = "Checked in"
	default:
		res.Title, res.Words = "Valid", "valid (looked up only: not checked in)"
	}
	d.log.Info("desk check", "staff", staff, "accept", v.Accept, "reason", res.Reason)
	writeJSON(w, http.StatusOK, res)
}

func (d *Desk) open(w http.ResponseWriter, r *http.Request, staff string) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(w, r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, errBody(err.Error()))
		return
	}
	reason, ok := cleanReason(req.Reason)
	if !ok {
		writeJSON(w, http.StatusBadRequest, errBody(fmt.Sprintf("give a reason of %d to %d characters", minReason, maxReason)))
		return
	}
	if ok, wait := d.allowOpen(); !ok {
		d.limited.Add(1)
		d.log.Warn("desk: manual open refused: too many", "staff", staff, "max", d.o.MaxOpens, "window", d.o.OpenWindow)
		secs := int(wait.Round(time.Second).Seconds())
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		writeJSON(w, http.StatusTooManyRequests, errBody(fmt.Sprintf("too many manual opens: at most %d per %v; try again in %d s", d.o.MaxOpens, d.o.OpenWindow, secs)))
		return
	}
	if err := d.o.Opener.ManualOpen(r.Context(), staff, reason); err != nil {
		d.giveBack()
		d.failed.Add(1)
		d.log.Error("desk: manual open failed, the door stays shut", "staff", staff, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, errBody("not opened: it could not be recorded (see the status page)"))
		return
	}
	d.opened.Add(1)
	d.log.Info("desk: manual open", "staff", staff, "reason", reason)
	writeJSON(w, http.StatusOK, map[string]string{"words": "door opened by " + staff, "at": d.o.Now().In(d.o.Location).Format("15:04:05")})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("request larger than %d bytes", maxBody)
		}
		// The decoder's message may quote the input (a code): not echoed.
		return errors.New("the request is not the JSON expected")
	}
	return nil
}

func errBody(msg string) map[string]string { return map[string]string{"error": msg} }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// buildPage inlines the style and script; the CSP allows exactly those and
// requests to this origin.
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
