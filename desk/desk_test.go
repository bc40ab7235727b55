package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/verify"
)

const (
	adaTok   = "ada-0123456789abcdef"
	graceTok = "grace-fedcba9876543210"
	code     = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
)

var t0 = time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)

type fakeChecker struct {
	mu    sync.Mutex
	texts []string
}

func (c *fakeChecker) Check(_ context.Context, text string) verify.Verdict {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.texts = append(c.texts, text)
	if len(c.texts) == 1 {
		return verify.Verdict{Accept: true, Reason: verify.OK, Hash: "c0ffee" + code[6:], Address: "bb1ada", Name: "Ada Lovelace", At: t0}
	}
	return verify.Verdict{Reason: verify.AlreadyUsed, Hash: "c0ffee" + code[6:], Address: "bb1ada", Name: "Ada Lovelace", At: t0,
		UsedAt: t0.Add(-3 * time.Minute), UsedBy: "door-b"}
}

func (c *fakeChecker) n() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.texts) }

type opening struct{ staff, reason string }

type fakeOpener struct {
	mu   sync.Mutex
	got  []opening
	fail error
}

func (o *fakeOpener) ManualOpen(_ context.Context, staff, reason string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.got = append(o.got, opening{staff, reason})
	return nil
}

func (o *fakeOpener) list() []opening {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]opening(nil), o.got...)
}

type rig struct {
	desk *Desk
	url  string
	chk  *fakeChecker
	op   *fakeOpener
	logs *bytes.Buffer
	now  atomic.Pointer[time.Time]
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{chk: &fakeChecker{}, op: &fakeOpener{}, logs: &bytes.Buffer{}}
	r.now.Store(&t0)
	var mu sync.Mutex
	logw := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return r.logs.Write(p) })
	d, err := New(Options{
		Staff:   []Staff{{"ada", adaTok}, {"grace", graceTok}},
		Checker: r.chk, Opener: r.op, CheckIn: true, MaxOpens: 2, OpenWindow: time.Minute, Location: time.UTC,
		Logger: slog.New(slog.NewTextHandler(logw, nil)), Now: func() time.Time { return *r.now.Load() },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	r.url, r.desk = srv.URL, d
	return r
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (r *rig) advance(d time.Duration) { n := r.now.Load().Add(d); r.now.Store(&n) }

// do sends a request; hdr holds extra headers. It returns the status and body.
func (r *rig) do(t *testing.T, method, path, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func auth(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestDeskAccess(t *testing.T) {
	r := newRig(t)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		hdr    map[string]string
		status int
	}{
		{"the page is static", "GET", "/desk/", "", nil, 200},
		{"whoami without a token", "GET", "/desk/whoami", "", nil, 401},
		{"whoami with a wrong token", "GET", "/desk/whoami", "", auth("ada-0123456789abcdeX"), 401},
		{"token in the URL is not taken", "GET", "/desk/whoami?token=" + adaTok, "", nil, 401},
		{"the status page's scheme is not a staff token", "GET", "/desk/whoami", "", map[string]string{"Authorization": "Basic " + adaTok}, 401},
		{"whoami", "GET", "/desk/whoami", "", auth(graceTok), 200},
		{"check without a token", "POST", "/desk/check", `{"code":"` + code + `"}`, nil, 401},
		{"open without a token", "POST", "/desk/open", `{"reason":"delivery"}`, nil, 401},
		{"GET on an action", "GET", "/desk/open", "", auth(adaTok), 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := r.do(t, tt.method, tt.path, tt.body, tt.hdr)
			if status != tt.status {
				t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, status, body, tt.status)
			}
		})
	}
	if _, body := r.do(t, "GET", "/desk/whoami", "", auth(graceTok)); !strings.Contains(body, `"name":"grace"`) {
		t.Errorf("whoami: %s", body)
	}
	if r.chk.n() != 0 || len(r.op.list()) != 0 {
		t.Errorf("an unauthorised request reached the checker or the opener")
	}
	if st := r.desk.Stats(); st.Refused != 6 || st.Checks != 0 {
		t.Errorf("stats %+v, want 6 refused", st)
	}
	for _, tok := range []string{adaTok, graceTok, "ada-0123456789abcdeX"} {
		if strings.Contains(r.logs.String(), tok) {
			t.Errorf("a token is in the log:\n%s", r.logs)
		}
	}
}

// TestDeskRefusesCrossSite: a POST another site's page could send is
// refused before anything is checked or opened, even with a valid token.
func TestDeskRefusesCrossSite(t *testing.T) {
	r := newRig(t)
	own := r.url // http://127.0.0.1:port
	tests := []struct {
		name   string
		ctype  string
		hdr    map[string]string
		status int
	}{
		{"another origin", "application/json", map[string]string{"Origin": "http://evil.example"}, 403},
		{"another port is another origin", "application/json", map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{"a form", "application/x-www-form-urlencoded", nil, 403},
		{"plain text (no-cors fetch)", "text/plain", map[string]string{"Origin": own}, 403},
		{"cross-site fetch metadata", "application/json", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site is not same-origin", "application/json", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"same origin", "application/json", map[string]string{"Origin": own, "Sec-Fetch-Site": "same-origin"}, 200},
		{"no Origin (curl)", "application/json", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(r.op.list())
			hdr := auth(adaTok)
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			hdr["Content-Type"] = tt.ctype
			status, body := r.do(t, "POST", "/desk/open", `{"reason":"cross-site test"}`, hdr)
			if status != tt.status {
				t.Errorf("%d %s, want %d", status, body, tt.status)
			}
			opened := len(r.op.list()) - before
			if (tt.status == 200) != (opened == 1) {
				t.Errorf("opened %d times", opened)
			}
		})
	}
}

func TestDeskCheck(t *testing.T) {
	r := newRig(t)
	var res checkResult
	check := func() {
		t.Helper()
		status, body := r.do(t, "POST", "/desk/check", `{"code":" https://x.example/?code=`+strings.ToUpper(code)+`"}`, auth(adaTok))
		if status != 200 {
			t.Fatalf("check: %d %s", status, body)
		}
		for _, secret := range []string{code, strings.ToUpper(code), "c0ffee", "bb1ada"} {
			if strings.Contains(body, secret) {
				t.Errorf("the answer carries %q: %s", secret, body)
			}
		}
		res = checkResult{}
		json.Unmarshal([]byte(body), &res)
	}
	check()
	if !res.Accept || res.Title != "Checked in" || res.Name != "Ada Lovelace" || res.Words != "welcome" || res.At != "14:05:00" {
		t.Errorf("first: %+v", res)
	}
	check()
	if res.Accept || res.Title != "Not accepted" || res.Reason != "already-used" || res.Words != "already used at 14:02 at door-b" {
		t.Errorf("second: %+v", res)
	}
	// The text reaches the checker as typed: the payload rule is the checker's.
	if r.chk.texts[0] != " https://x.example/?code="+strings.ToUpper(code) {
		t.Errorf("checker got %q", r.chk.texts[0])
	}
	for _, bad := range []string{`{"code":""}`, `{"code":1}`, `{"code":"x","extra":1}`, `{"code":"` + strings.Repeat("a", 5000) + `"}`} {
		if status, body := r.do(t, "POST", "/desk/check", bad, auth(adaTok)); status != 400 || strings.Contains(body, "aaaa") {
			t.Errorf("%.30s: %d %s", bad, status, body)
		}
	}
	if strings.Contains(r.logs.String(), code) || strings.Contains(strings.ToLower(r.logs.String()), code) {
		t.Errorf("the code is in the log")
	}
}

func TestDeskManualOpen(t *testing.T) {
	r := newRig(t)
	open := func(tok, reason string) (int, string) {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"reason": reason})
		return r.do(t, "POST", "/desk/open", string(b), auth(tok))
	}
	for _, bad := range []string{"", "  ", "ok", strings.Repeat("x", 201)} {
		if status, _ := open(adaTok, bad); status != 400 {
			t.Errorf("reason %q: %d, want 400", bad, status)
		}
	}
	if status, body := open(adaTok, "  delivery\tof\nkegs "); status != 200 || !strings.Contains(body, "door opened by ada") {
		t.Fatalf("open: %d %s", status, body)
	}
	if status, _ := open(graceTok, "fire drill \x1b[2J"); status != 200 {
		t.Fatalf("second open: %d", status)
	}
	status, body := open(adaTok, "one too many")
	if status != http.StatusTooManyRequests || !strings.Contains(body, "at most 2 per 1m0s") {
		t.Fatalf("third open within the window: %d %s", status, body)
	}
	want := []opening{{"ada", "delivery of kegs"}, {"grace", "fire drill [2J"}}
	if got := r.op.list(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("openings %q, want %q", got, want)
	}
	r.advance(time.Minute)
	if status, _ := open(adaTok, "after the window"); status != 200 {
		t.Errorf("after the window: %d", status)
	}
	// One that cannot be recorded does not open and does not count.
	r.op.mu.Lock()
	r.op.fail = errors.New("disk full")
	r.op.mu.Unlock()
	if status, body := open(adaTok, "store broken"); status != http.StatusServiceUnavailable || strings.Contains(body, "disk full") {
		t.Errorf("failing record: %d %s", status, body)
	}
	r.op.mu.Lock()
	r.op.fail = nil
	r.op.mu.Unlock()
	if status, _ := open(adaTok, "store mended"); status != 200 {
		t.Errorf("the failed open counted against the limit: %d", status)
	}
	if st := r.desk.Stats(); st != (Stats{Opened: 4, RateLimited: 1, NotRecorded: 1}) {
		t.Errorf("stats %+v", st)
	}
	if l := r.logs.String(); !strings.Contains(l, "manual open refused: too many") || !strings.Contains(l, `reason="delivery of kegs"`) {
		t.Errorf("log:\n%s", l)
	}
}

func TestNewNeedsStaff(t *testing.T) {
	if _, err := New(Options{Checker: &fakeChecker{}, Opener: &fakeOpener{}}); err == nil {
		t.Error("a desk without staff")
	}
	if _, err := New(Options{Staff: []Staff{{"ada", adaTok}}}); err == nil {
		t.Error("a desk without checker and opener")
	}
}
