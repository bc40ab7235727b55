package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
)

// eventsReceiver is an events endpoint on loopback: it answers every POST
// with code (0 = 200) and, when it takes a batch, keeps each event once by
// nonce, as a deduplicating receiver does.
type eventsReceiver struct {
	srv     *httptest.Server
	mu      stdsync.Mutex
	code    int
	byNonce map[string]map[string]any
	posts   int
}

func newEventsReceiver(t *testing.T, code int) *eventsReceiver {
	t.Helper()
	rv := &eventsReceiver{code: code, byNonce: map[string]map[string]any{}}
	rv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Events []map[string]any `json:"events"`
		}
		err := json.NewDecoder(r.Body).Decode(&body)
		rv.mu.Lock()
		defer rv.mu.Unlock()
		rv.posts++
		if rv.code != 0 {
			w.WriteHeader(rv.code)
			return
		}
		if err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		for _, e := range body.Events {
			n, _ := e["nonce"].(string)
			rv.byNonce[n] = e
		}
	}))
	t.Cleanup(rv.srv.Close)
	return rv
}

// events returns the events kept, those of kind when it is not empty.
func (rv *eventsReceiver) events(kind string) []map[string]any {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	var out []map[string]any
	for _, e := range rv.byNonce {
		if kind == "" || e["kind"] == kind {
			out = append(out, e)
		}
	}
	return out
}

// eventsView is the part of `kioskd status -json` these tests read.
type eventsView struct {
	Problems []string `json:"problems"`
	Events   struct {
		Pending     int    `json:"pending"`
		UploadError string `json:"upload_error"`
		Failures    int    `json:"upload_failures"`
		Stuck       int    `json:"stuck"`
		StuckID     uint64 `json:"stuck_id"`
	} `json:"events"`
}

func (e *env) eventsStatus() eventsView {
	e.t.Helper()
	out, errOut, code := e.kioskd("status", "-config", e.cfg, "-json")
	var v eventsView
	if code != exitOK {
		e.t.Fatalf("status: exit %d %q", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		e.t.Fatalf("status -json: %v\n%s", err, out)
	}
	return v
}

// recordEvents puts three verdict events in the outbox with `kioskd check`
// (no sync needed: the codes are unknown).
func (e *env) recordEvents() {
	e.t.Helper()
	valid, unknown, _ := demoframes.Codes()
	for _, c := range []string{valid, unknown, "hello"} {
		if _, errOut, code := e.kioskd("check", "-config", e.cfg, c); code != exitReject {
			e.t.Fatalf("check: exit %d %q", code, errOut)
		}
	}
}

// Issue 15 item 5: a receiver answering a 4xx other than 401/403/404 (a URL
// pointing at a static site, a proxy, a validation rule) had the whole
// backlog deleted, with no error shown. The events must stay, the error and
// the refused events show in `kioskd status`, and `kioskd events drop` is
// the operator's way to discard them.
func TestEventsKeptWhenTheReceiverRefuses(t *testing.T) {
	for _, code := range []int{400, 405, 407, 413, 422} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			rv := newEventsReceiver(t, code)
			e := newEnv(t, fmt.Sprintf("events:\n  url: %s/ingest\n  upload_interval: 1s\n", rv.srv.URL))
			e.recordEvents()
			d := startDaemon(t, e)
			d.waitFor("status page up", 30*time.Second, func(status.Snapshot) bool { return true })
			var v eventsView
			deadline := time.Now().Add(30 * time.Second)
			for {
				v = e.eventsStatus()
				if v.Events.Failures > 0 || v.Events.Pending == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if v.Events.Pending != 3 {
				t.Fatalf("HTTP %d: %d events pending, want the 3 recorded (status %+v)", code, v.Events.Pending, v)
			}
			if !strings.Contains(v.Events.UploadError, fmt.Sprint(code)) || v.Events.Stuck == 0 || v.Events.StuckID == 0 {
				t.Fatalf("HTTP %d: the upload's failure is not shown: %+v", code, v.Events)
			}
			shown := false
			for _, p := range v.Problems {
				shown = shown || strings.Contains(p, "upload failing")
			}
			if !shown {
				t.Fatalf("HTTP %d: no problem line: %q", code, v.Problems)
			}
			if ok, err := d.stop(10 * time.Second); !ok || err != nil {
				t.Fatalf("stop: %v %v", ok, err)
			}
			if v := e.eventsStatus(); v.Events.Pending != 3 {
				t.Fatalf("HTTP %d: after the stop %d pending", code, v.Events.Pending)
			}

			// The operator drops the refused event, then the rest.
			out, errOut, ec := e.kioskd("events", "drop", "-config", e.cfg, "-id", fmt.Sprint(v.Events.StuckID))
			if ec != exitOK || !strings.Contains(out, "dropped 1 events; 2 pending") || !strings.Contains(errOut, "dropped=1") {
				t.Fatalf("events drop -id: exit %d %q %q", ec, out, errOut)
			}
			out, errOut, ec = e.kioskd("events", "drop", "-config", e.cfg, "-all")
			if ec != exitOK || !strings.Contains(out, "dropped 2 events; 0 pending") {
				t.Fatalf("events drop -all: exit %d %q %q", ec, out, errOut)
			}
		})
	}
}

func TestEventsDropUsage(t *testing.T) {
	e := newEnv(t, "")
	for _, args := range [][]string{
		{"events"},
		{"events", "drop", "-config", e.cfg},
		{"events", "drop", "-config", e.cfg, "-all", "-id", "3"},
		{"events", "drop", "-config", e.cfg, "-before", "yesterday"},
		{"events", "drop", "-config", e.cfg, "-id", "x"},
	} {
		if out, errOut, code := e.kioskd(args...); code != exitError || errOut == "" {
			t.Errorf("%v: exit %d %q %q, want 2 and a message", args, code, out, errOut)
		}
	}
	e.recordEvents()
	out, errOut, code := e.kioskd("events", "list", "-config", e.cfg)
	if code != exitOK || strings.Count(out, "\tverdict\t") != 3 || !strings.Contains(out, "3 of 3 pending") {
		t.Fatalf("events list: exit %d %q %q", code, out, errOut)
	}
	valid, unknown, _ := demoframes.Codes()
	if strings.Contains(out, valid) || strings.Contains(out, unknown) {
		t.Fatal("a code in the listing")
	}
	out, _, code = e.kioskd("events", "drop", "-config", e.cfg, "-before", "2000-01-01")
	if code != exitOK || !strings.Contains(out, "dropped 0 events; 3 pending") {
		t.Fatalf("drop -before 2000: exit %d %q", code, out)
	}
}

// Issue 15 item 6: the uploader lived inside the sync service, so a kiosk
// without bitbadges.client_id (display-only, or fed by kioskd import) never
// uploaded: its events piled up without a word.
func TestEventsUploadWithoutClientID(t *testing.T) {
	rv := newEventsReceiver(t, 0)
	e := newEnv(t, fmt.Sprintf("events:\n  url: %s/ingest\n  upload_interval: 1s\n", rv.srv.URL))
	cfg, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "  client_id: test-client\n", "", 1))
	if err := os.WriteFile(e.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	e.recordEvents()
	d := startDaemon(t, e)
	deadline := time.Now().Add(20 * time.Second)
	for len(rv.events("verdict")) < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(rv.events("verdict")); n != 3 {
		t.Fatalf("the receiver got %d of the 3 events", n)
	}
	d.waitFor("outbox empty", 10*time.Second, func(s status.Snapshot) bool { return s.Events.Pending == 0 })
	if !strings.Contains(d.log.String(), "client_id is empty") {
		t.Fatal("no sync expected in this test; check the config edit")
	}
}
