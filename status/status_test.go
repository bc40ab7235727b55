package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/verify"
)

// A code as the camera would read it; it must never reach any view.
var testCode = strings.Repeat("c0de", 16)

// fixture is a kiosk mid-shift: synced 5 minutes ago, one sync failure
// since, a few verdicts, events waiting for the uplink.
func fixture() Snapshot {
	now := time.Date(2026, 11, 23, 18, 30, 0, 0, time.UTC)
	return Snapshot{
		Kiosk:    "door-3",
		Version:  "v1.2.3",
		Now:      now,
		Healthy:  true,
		Camera:   Camera{Up: true, Source: "/dev/video0", Detail: "640x480 YUYV", FPS: 29.7, DecodeP50: Duration(3100 * time.Microsecond)},
		GPIO:     GPIO{Driver: "cdev", Detail: "gpiochip0: green 17, red 27, relay 22"},
		Cache:    Cache{Count: 12345, LastSync: now.Add(-5 * time.Minute), Source: "https://api.bitbadges.io/api/v0"},
		Clock:    Clock{Trusted: true, TrustedTime: now.Add(-5 * time.Minute)},
		Sync:     Sync{LastError: "GET /auth/prefetch: 503 Service Unavailable", LastAttempt: now.Add(-time.Minute), NextSync: now.Add(4 * time.Minute), LastDuration: Duration(1200 * time.Millisecond)},
		Events:   Events{Pending: 7, Dropped: 0},
		Display:  Display{Enabled: false},
		Problems: nil,
		Recent: []Verdict{
			{Time: now.Add(-10 * time.Second), Accept: false, Reason: "already-used", HashPrefix: "9f86d081", Name: "Ada Lovelace"},
			{Time: now.Add(-40 * time.Second), Accept: true, Reason: "ok", HashPrefix: "9f86d081", Name: "Ada Lovelace"},
			{Time: now.Add(-90 * time.Second), Accept: false, Reason: "not-a-code"},
		},
	}
}

type fakePreview struct{ err error }

func (f fakePreview) WriteJPEG(w io.Writer) error {
	if f.err != nil {
		return f.err
	}
	// A test card: grey ramp with a dark square, so a screenshot shows it.
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			v := uint8(60 + x*180/320)
			if x > 120 && x < 200 && y > 80 && y < 160 {
				v = 20
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	return jpeg.Encode(w, img, &jpeg.Options{Quality: 80})
}

func TestComplete(t *testing.T) {
	s := fixture().Complete()
	if got := time.Duration(s.Cache.Age); got != 5*time.Minute {
		t.Errorf("age = %v, want 5m", got)
	}
	if s.Problems == nil {
		t.Error("Problems stays nil")
	}
	var empty Snapshot
	e := empty.Complete()
	if e.Now.IsZero() || e.Recent == nil || e.Cache.Age != 0 {
		t.Errorf("Complete on zero snapshot: %+v", e)
	}
	// A clock set back behind the last sync does not give a negative age.
	back := fixture()
	back.Now = back.Cache.LastSync.Add(-time.Hour)
	if a := back.Complete().Cache.Age; a != 0 {
		t.Errorf("age with clock behind last sync = %v", a)
	}
}

func TestFromVerdictHidesCode(t *testing.T) {
	hash := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	v := FromVerdict(verify.Verdict{Accept: true, Reason: verify.OK, Hash: hash, Name: "Ada", At: time.Unix(1, 0)})
	if v.HashPrefix != "9f86d081" || v.Reason != "ok" || !v.Accept || v.Name != "Ada" {
		t.Fatalf("got %+v", v)
	}
	if nc := FromVerdict(verify.Verdict{Reason: verify.NotACode}); nc.HashPrefix != "" || nc.Reason != "not-a-code" {
		t.Fatalf("not-a-code: %+v", nc)
	}
}

func TestHistory(t *testing.T) {
	tests := []struct {
		size, add int
		want      []string // reasons, newest first
	}{
		{3, 0, []string{}},
		{3, 2, []string{"r1", "r0"}},
		{3, 3, []string{"r2", "r1", "r0"}},
		{3, 5, []string{"r4", "r3", "r2"}},
		{0, 2, []string{"r1"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d-%d", tc.size, tc.add), func(t *testing.T) {
			h := NewHistory(tc.size)
			for i := 0; i < tc.add; i++ {
				h.Add(verify.Verdict{Name: fmt.Sprintf("r%d", i)})
			}
			got := []string{}
			for _, v := range h.List() {
				got = append(got, v.Name)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{`"1.5s"`, 1500 * time.Millisecond, true},
		{`"5m0s"`, 5 * time.Minute, true},
		{`3000000`, 3 * time.Millisecond, true},
		{`"soon"`, 0, false},
		{`true`, 0, false},
	}
	for _, tc := range tests {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if (err == nil) != tc.ok || (tc.ok && time.Duration(d) != tc.want) {
			t.Errorf("Unmarshal(%s) = %v, %v", tc.in, time.Duration(d), err)
		}
	}
	b, _ := json.Marshal(Duration(3123456 * time.Nanosecond))
	if string(b) != `"3.12ms"` {
		t.Errorf("Marshal = %s", b)
	}
	// A Snapshot survives a round trip through `kioskd status -json`.
	in := fixture().Complete()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Snapshot
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Cache.Age != in.Cache.Age || out.Camera.DecodeP50 != Duration(3100*time.Microsecond) || len(out.Recent) != 3 {
		t.Fatalf("round trip lost data: %+v", out)
	}
}

func TestWriteText(t *testing.T) {
	unhealthy := fixture()
	unhealthy.Healthy = false
	unhealthy.Problems = []string{"camera down: /dev/video0: no such device", "cache stale (2h old)"}
	unhealthy.Camera.Up = false
	unhealthy.Cache.Stale = true
	unhealthy.Clock.Trusted = false

	fleet := fixture()
	fleet.Fleet = &Fleet{Broker: "mqtts://broker.venue:8883", Connected: false, Pending: 2, Published: 5, Applied: 11, Ignored: 1}
	fleet.Peers = []Peer{{Kiosk: "door-4", LastSeen: fleet.Now.Add(-time.Minute), Online: true}}

	lagging := fixture()
	lagging.Camera.FramesDropped = 41
	lagging.Camera.VerdictLatencyP50 = Duration(62 * time.Millisecond)
	lagging.Camera.VerdictLatencyP95 = Duration(140 * time.Millisecond)
	stuck := fixture()
	stuck.Events = Events{Pending: 250, UploadError: "event 17 (verdict of 2026-11-23T18:00:00Z) kept: event upload: HTTP 422 Unprocessable Entity (refused)",
		Failures: 3, Stuck: 1, StuckID: 17, NextAttempt: stuck.Now.Add(20 * time.Second)}

	stopped := Snapshot{Kiosk: "door-3", Offline: true, Now: fixture().Now, Cache: Cache{Count: 3}, Events: Events{Pending: 2}}

	syncing := fixture()
	syncing.Sync.Syncing, syncing.Sync.SyncingSince, syncing.Sync.Page = true, syncing.Now.Add(-time.Minute), 1234
	syncing.Sync.HeldBack = &HeldBack{Codes: 20, Cached: 300, At: syncing.Now.Add(-time.Hour)}
	syncing.Sync.Duplicates = 200

	tests := []struct {
		name    string
		s       Snapshot
		want    []string
		notWant []string
	}{
		{"syncing, held back", syncing, []string{
			"sync       SYNCING since 2026-11-23 18:29:00 UTC, page 1234; last attempt 2026-11-23 18:29:00 UTC FAILED: " +
				"GET /auth/prefetch: 503 Service Unavailable in 1.2s; next 2026-11-23 18:34:00 UTC; 200 duplicate records in the last sync",
			"held back  20 codes listed at 2026-11-23 17:30:00 UTC, 300 cached: the old cache serves; " +
				"to apply: stop the daemon, kioskd sync -apply-held-back",
		}, nil},
		{"healthy", fixture(), []string{
			"kiosk    door-3 (kioskd v1.2.3)",
			"health   OK",
			"camera   /dev/video0, up, 29.7 fps, decode p50 3.1ms, 640x480 YUYV",
			"cache    12345 codes, last sync 2026-11-23 18:25:00 UTC (5m0s ago)",
			"sync     last attempt 2026-11-23 18:29:00 UTC FAILED: GET /auth/prefetch: 503 Service Unavailable in 1.2s; next 2026-11-23 18:34:00 UTC",
			"clock    trusted",
			"events   7 pending upload, 0 dropped",
			"2026-11-23 18:29:50 UTC  REJECT  already-used  9f86d081  Ada Lovelace",
			"2026-11-23 18:28:30 UTC  REJECT  not-a-code    -",
		}, []string{"daemon", "STALE", "fleet", "peer", "FAILING"}},
		{"lane behind", lagging, []string{
			"camera   /dev/video0, up, 29.7 fps, decode p50 3.1ms, 41 frames dropped, verdict latency p50 62ms p95 140ms, 640x480 YUYV",
		}, nil},
		{"upload stuck", stuck, []string{
			"events   250 pending upload, 0 dropped",
			"upload   FAILING (3 in a row): event 17 (verdict of 2026-11-23T18:00:00Z) kept: event upload: HTTP 422 Unprocessable Entity (refused); 1 refused, oldest id 17; next attempt 2026-11-23 18:30:20 UTC",
		}, nil},
		{"fleet", fleet, []string{
			"fleet    mqtts://broker.venue:8883 DISCONNECTED; 5 published, 2 pending, 11 applied from peers, 1 ignored",
			"peer     door-4 online, last seen 2026-11-23 18:29:00 UTC",
		}, nil},
		{"unhealthy", unhealthy, []string{
			"NOT HEALTHY: camera down: /dev/video0: no such device; cache stale (2h old)",
			"camera   /dev/video0, down, 640x480 YUYV",
			", STALE",
			"NOT trusted (last trusted time 2026-11-23 18:25:00 UTC)",
		}, nil},
		{"not running", stopped, []string{
			"daemon   not running",
			"3 codes, never synced",
			"sync     no attempt yet",
			"events   2 pending upload",
			"recent verdicts: none",
		}, []string{"camera", "outputs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, tc.s); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in:\n%s", w, out)
				}
			}
		})
	}
}

func get(t *testing.T, h http.Handler, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerRoutes(t *testing.T) {
	healthy := ProviderFunc(fixture)
	sick := ProviderFunc(func() Snapshot {
		s := fixture()
		s.Healthy = false
		s.Problems = []string{"camera down"}
		return s
	})
	tests := []struct {
		name     string
		p        Provider
		pv       Preview
		path     string
		code     int
		ctype    string
		contains string
	}{
		{"page", healthy, nil, "/", 200, "text/html; charset=utf-8", "<title>kioskd status</title>"},
		{"json", healthy, nil, "/status.json", 200, "application/json", `"pending": 7`},
		{"healthz ok", healthy, nil, "/healthz", 200, "text/plain; charset=utf-8", "ok"},
		{"healthz sick", sick, nil, "/healthz", 503, "text/plain; charset=utf-8", "camera down"},
		{"preview", healthy, fakePreview{}, "/preview.jpg", 200, "image/jpeg", "\xff\xd8"},
		{"preview none yet", healthy, fakePreview{err: fmt.Errorf("preview: %w", ErrNoFrame)}, "/preview.jpg", 503, "text/plain; charset=utf-8", "no camera frame yet"},
		{"preview broken", healthy, fakePreview{err: errors.New("jpeg: encoder exploded")}, "/preview.jpg", 503, "text/plain; charset=utf-8", "encoder exploded"},
		{"no preview", healthy, nil, "/preview.jpg", 404, "text/plain; charset=utf-8", "no camera preview"},
		{"unknown path", healthy, nil, "/etc/passwd", 404, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, Handler(tc.p, tc.pv, HandlerOptions{}), tc.path, nil)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, rec.Body)
			}
			if tc.ctype != "" && rec.Header().Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.ctype)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body lacks %q: %.300s", tc.contains, rec.Body)
			}
			if rec.Header().Get("Referrer-Policy") != "no-referrer" {
				t.Error("no Referrer-Policy: a token in the URL could leak")
			}
			if strings.Contains(rec.Body.String(), testCode) {
				t.Error("the code leaked")
			}
		})
	}
}

// TestPageCSP checks that the policy admits exactly the inline style and
// script the page carries (a mismatch would leave a blank page).
func TestPageCSP(t *testing.T) {
	rec := get(t, Handler(ProviderFunc(fixture), nil, HandlerOptions{}), "/", nil)
	csp := rec.Header().Get("Content-Security-Policy")
	page, want := buildPage()
	if csp != want || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	body := rec.Body.String()
	if body != string(page) || strings.Contains(body, "/*SCRIPT*/") || strings.Contains(body, "/*STYLE*/") {
		t.Fatal("page assets not inlined")
	}
	for _, ext := range []string{"http://", "https://", "src=\"//"} {
		if strings.Contains(body, ext) {
			t.Errorf("page refers to an external asset (%s)", ext)
		}
	}
}

func TestToken(t *testing.T) {
	const token = "s3cret-token"
	h := Handler(ProviderFunc(fixture), fakePreview{}, HandlerOptions{Token: token})
	tests := []struct {
		name   string
		target string
		hdr    map[string]string
		code   int
	}{
		{"none", "/status.json", nil, 401},
		{"none healthz", "/healthz", nil, 401},
		{"wrong query", "/status.json?token=nope", nil, 401},
		{"prefix of token", "/status.json?token=s3cret", nil, 401},
		{"empty query", "/status.json?token=", nil, 401},
		{"query", "/status.json?token=" + token, nil, 200},
		{"query page", "/?token=" + token, nil, 200},
		{"query preview", "/preview.jpg?t=1&token=" + token, nil, 200},
		{"bearer", "/status.json", map[string]string{"Authorization": "Bearer " + token}, 200},
		{"bearer lower-case scheme", "/healthz", map[string]string{"Authorization": "bearer " + token}, 200},
		{"bearer wrong", "/status.json", map[string]string{"Authorization": "Bearer x"}, 401},
		{"basic", "/status.json", map[string]string{"Authorization": "Basic " + token}, 401},
		// A wrong header is not rescued by a right query: the header wins.
		{"wrong bearer right query", "/status.json?token=" + token, map[string]string{"Authorization": "Bearer x"}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, h, tc.target, tc.hdr)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d", rec.Code, tc.code)
			}
			if tc.code == 401 {
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if strings.Contains(rec.Body.String(), token) {
					t.Error("401 body echoes the token")
				}
			}
		})
	}
}

func BenchmarkStatusJSON(b *testing.B) {
	h := Handler(ProviderFunc(fixture), nil, HandlerOptions{})
	req := httptest.NewRequest("GET", "/status.json", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
}

// FuzzDurationJSON: `kioskd status -json` output read back by scripts never
// panics, and what it accepts survives a round trip.
func FuzzDurationJSON(f *testing.F) {
	for _, s := range []string{`"1.5s"`, `"5m0s"`, `3000000`, `"-1h"`, `"soon"`, `null`, `""`, `1e99`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Duration
		if err := json.Unmarshal(b, &d); err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", time.Duration(d), err)
		}
		var back Duration
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("round trip of %s: %v", out, err)
		}
	})
}

// TestOneLine: untrusted text (a record name from the server) cannot move
// the cursor, recolour or clear the operator's terminal, break a line or a
// TSV field, or reorder what is shown; ordinary text is untouched.
func TestOneLine(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Valid guest", "Valid guest"},
		{"accents and emoji", "Zoë 🎟️ 入場", "Zoë 🎟️ 入場"},
		{"ANSI colour and clear", "a\x1b[31mred\x1b[2J", "a [31mred [2J"},
		{"OSC title with BEL", "\x1b]0;owned\x07x", " ]0;owned x"},
		{"8-bit CSI", "a\u009b31mb", "a 31mb"},
		{"newlines and tab", "one\r\ntwo\tthree", "one  two three"},
		{"DEL and NUL", "a\x7fb\x00c", "a b c"},
		{"line separator", "a\u2028b\u2029c", "a b c"},
		{"bidi override dropped", "file\u202egpj.exe", "filegpj.exe"},
		{"bidi isolate and marks dropped", "\u2066a\u2069\u200eb\u200f\u061c", "ab"},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := OneLine(tc.in); got != tc.want {
				t.Errorf("OneLine(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
