package bbtest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a request.
type FaultKind uint8

const (
	// Status answers Fault.Status with a BitBadges error body (and
	// Retry-After when Fault.RetryAfter is set).
	Status FaultKind = iota + 1
	// Hang holds the request until the client gives up (or Fault.Delay passes).
	Hang
	// Drip serves the real answer one byte every Fault.Delay.
	Drip
	// Truncate serves the first half of the real answer and drops the connection.
	Truncate
	// Malformed answers 200 with a body that is not JSON.
	Malformed
	// Huge answers 200 with an endless valid-looking body (Fault.Size bytes,
	// default 64 MiB).
	Huge
	// Drop closes the connection without any answer.
	Drop
	// WrongShape answers 200 with JSON that is not a page (no pagination).
	WrongShape
)

// Fault is one injected misbehaviour. It fires on the requests of its Route
// ("" = any) after letting After of them through, Times times (0 = forever).
type Fault struct {
	Route      string
	After      int
	Times      int
	Kind       FaultKind
	Status     int
	RetryAfter string        // Retry-After header value for Status faults
	Delay      time.Duration // Hang limit and Drip byte interval
	Size       int64         // Huge body size
	// Date, when set, is the answer's Date header instead of the server's
	// clock (a clock gone wrong, a proxy's page). A Fault with a Date and no
	// Kind serves the request normally, with that Date.
	Date time.Time

	seen, fired int
}

// Inject adds a fault. Faults are tried in the order injected; the first one
// that applies to a request fires.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) takeFault(route string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Route != "" && f.Route != route {
			continue
		}
		if f.Times > 0 && f.fired >= f.Times {
			continue
		}
		f.seen++
		if f.seen <= f.After {
			continue
		}
		f.fired++
		s.counts.Faults++
		return f
	}
	return nil
}

// fire performs the fault. It returns false when the request should be
// served normally after all (Drip and Truncate wrap the real answer; a Fault
// without a Kind only changes the Date).
func (f *Fault) fire(w http.ResponseWriter, r *http.Request, s *Server, route, path string) bool {
	if !f.Date.IsZero() {
		w.Header().Set("Date", f.Date.UTC().Format(http.TimeFormat))
	}
	switch f.Kind {
	case Status:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		code := f.Status
		if code == 0 {
			code = http.StatusInternalServerError
		}
		if code == http.StatusPaymentRequired {
			writeJSON(w, code, map[string]any{"error": "Insufficient credits", "errorMessage": "Out of credits"})
		} else {
			writeError(w, code, "injected "+strconv.Itoa(code), code == http.StatusUnauthorized)
		}
	case Hang:
		// Consume the body so the server watches the connection and sees
		// the client give up (r.Context is then cancelled).
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
		d := f.Delay
		if d <= 0 {
			d = time.Minute
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-t.C:
			writeError(w, http.StatusGatewayTimeout, "hung", false)
		}
	case Drip, Truncate:
		rec := &recorder{header: http.Header{}}
		// Serve the real answer into a buffer, then deliver it badly.
		s.serveClean(rec, r, route, path)
		for k, v := range rec.header {
			if k == "Date" && !f.Date.IsZero() {
				continue
			}
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.status)
		body := rec.body.String()
		if f.Kind == Truncate {
			_, _ = w.Write([]byte(body[:len(body)/2]))
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			hijackClose(w)
			return true
		}
		d := f.Delay
		if d <= 0 {
			d = 10 * time.Millisecond
		}
		fl, _ := w.(http.Flusher)
		for i := 0; i < len(body); i++ {
			if _, err := w.Write([]byte{body[i]}); err != nil {
				return true
			}
			if fl != nil {
				fl.Flush()
			}
			select {
			case <-r.Context().Done():
				return true
			case <-time.After(d):
			}
		}
	case Malformed:
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`<html><body>502 Bad Gateway</body></html>`))
	case WrongShape:
		writeJSON(w, http.StatusOK, map[string]any{"siwbbRequests": []any{}, "success": true})
	case Huge:
		size := f.Size
		if size <= 0 {
			size = 64 << 20
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"siwbbRequests":[`))
		chunk := []byte(strings.Repeat(`{"_docId":"00","name":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},`, 128))
		for written := int64(0); written < size; written += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
	case Drop:
		hijackClose(w)
	default:
		return false
	}
	return true
}

// serveClean serves a request as if no fault existed.
func (s *Server) serveClean(w http.ResponseWriter, r *http.Request, route, path string) {
	now := s.opts.Now()
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("x-api-key") != s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "Unauthorized: invalid API key", true)
		return
	}
	switch route {
	case RoutePrefetch:
		s.prefetch(w, r, path, now)
	case RouteToken:
		s.token(w, r, now)
	case RouteOwners:
		s.serveOwners(w, r, path)
	case RouteBalance:
		s.serveBalance(w, r, path)
	}
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

// recorder buffers a response (httptest.ResponseRecorder without its rules).
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
