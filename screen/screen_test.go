package screen

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/verify"
)

var t0 = time.Date(2026, 12, 3, 14, 5, 0, 0, time.UTC)

type fakeClock struct{ t atomic.Pointer[time.Time] }

func (c *fakeClock) now() time.Time      { return *c.t.Load() }
func (c *fakeClock) add(d time.Duration) { n := c.now().Add(d); c.t.Store(&n) }

func newClock() *fakeClock { c := &fakeClock{}; c.t.Store(&t0); return c }

const hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

var (
	accept = verify.Verdict{Accept: true, Reason: verify.OK, Hash: hash, Name: "Ada Lovelace", Address: "bb1ada", At: t0}
	used   = verify.Verdict{Reason: verify.AlreadyUsed, Hash: hash, Name: "Ada Lovelace", Address: "bb1ada", At: t0,
		UsedAt: t0.Add(-3 * time.Minute), UsedBy: "Door B"}
)

// TestScreenStates follows the shown state through verdicts, hints, faults
// and their expiry on a fake clock.
func TestScreenStates(t *testing.T) {
	clk := newClock()
	var faults atomic.Value
	faults.Store(Faults{})
	s := New(Options{Hold: 3 * time.Second, Location: time.UTC, Now: clk.now, Health: func() Faults { return faults.Load().(Faults) }})
	type want struct {
		mode                             Mode
		title, reason, name, hint, fault string
	}
	check := func(step string, w want) {
		t.Helper()
		v := s.Current()
		got := want{v.Mode, v.Title, v.Reason, v.Name, v.Hint, v.Fault}
		if got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", step, got, w)
		}
	}
	idle := want{mode: Idle, title: "Hold your code here"}
	check("start", idle)

	closer := want{mode: Idle, title: "Hold your code here", hint: "bring the code closer"}
	s.Hint(HintTooFar)
	check("hint", closer)
	clk.add(time.Minute)
	s.tick()
	check("a hint is held until the feed changes it (it sends changes only)", closer)
	s.Hint(HintNone)
	check("hint cleared", idle)

	s.Hint(HintTooFar)
	faults.Store(Faults{Camera: true})
	s.tick()
	check("the camera's fault hides a hint", want{mode: Idle, title: "Hold your code here", fault: "Out of order: the camera is not working. Please see staff."})
	faults.Store(Faults{})
	s.tick()
	check("and shows it again once the camera is back", closer)
	s.Hint(HintNone)

	s.Verdict(used)
	check("reject", want{mode: Reject, title: "Not accepted", reason: "already used at 14:02 at Door B"})
	s.Hint(HintTooDark)
	check("a hint does not cover a verdict", want{mode: Reject, title: "Not accepted", reason: "already used at 14:02 at Door B"})
	clk.add(3 * time.Second)
	s.tick()
	check("a hint that still holds comes back after the verdict", want{mode: Idle, title: "Hold your code here", hint: "more light needed"})
	s.Hint(HintNone)
	check("verdict held for hold", idle)

	s.Verdict(accept)
	check("accept without the name", want{mode: Accept, title: "Welcome", reason: "please go ahead"})

	faults.Store(Faults{Camera: true, Clock: true})
	s.tick()
	check("fault", want{mode: Accept, title: "Welcome", reason: "please go ahead",
		fault: "Out of order: the camera is not working, the clock is not set. Please see staff."})
	faults.Store(Faults{})
	s.tick()
	check("fault cleared", want{mode: Accept, title: "Welcome", reason: "please go ahead"})

	named := New(Options{ShowName: true, Now: clk.now})
	v := accept
	v.Name = "Ada\x1b[31m Lovelace" + strings.Repeat("x", 100)
	named.Verdict(v)
	if n := named.Current().Name; strings.ContainsRune(n, 0x1b) || len([]rune(n)) != 64 || !strings.HasPrefix(n, "Ada [31m Lovelace") {
		t.Errorf("shown name %q: want one clean line of at most 64 characters", n)
	}
	named.Verdict(used)
	if n := named.Current().Name; n != "" {
		t.Errorf("a reject shows the name %q", n)
	}
}

// sseClient reads Views from a stream.
type sseClient struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func openStream(t testing.TB, url string) *sseClient {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	return &sseClient{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

func (c *sseClient) next(t *testing.T) (View, string) {
	t.Helper()
	for c.sc.Scan() {
		if data, ok := strings.CutPrefix(c.sc.Text(), "data: "); ok {
			var v View
			if err := json.Unmarshal([]byte(data), &v); err != nil {
				t.Fatalf("event %q: %v", data, err)
			}
			return v, data
		}
	}
	t.Fatalf("stream ended: %v", c.sc.Err())
	return View{}, ""
}

func serve(t testing.TB, s *Screen) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	mux := http.NewServeMux()
	mux.Handle("/screen/", s.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return srv.URL + "/screen/"
}

func TestEventStream(t *testing.T) {
	s := New(Options{ShowName: true, Hold: time.Minute, Location: time.UTC})
	base := serve(t, s)
	c := openStream(t, base+"events")
	if v, _ := c.next(t); v.Mode != Idle {
		t.Fatalf("first event %+v, want the idle screen", v)
	}
	s.Verdict(accept)
	v, raw := c.next(t)
	if v.Mode != Accept || v.Name != "Ada Lovelace" || !v.At.Equal(t0) {
		t.Errorf("event %+v", v)
	}
	for _, secret := range []string{hash, hash[:8], "bb1ada"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the event carries %q: %s", secret, raw)
		}
	}
	// A page answers with the inline script and style allowed by hash only.
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if resp, err := http.Post(base+"events", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp.Status, err)
	}
}

// TestStreamsBounded: past MaxClients a stream is refused at once, and a
// slot comes back when a page goes.
func TestStreamsBounded(t *testing.T) {
	s := New(Options{MaxClients: 2})
	base := serve(t, s)
	a := openStream(t, base+"events")
	a.next(t)
	b := openStream(t, base+"events")
	b.next(t)
	resp, err := http.Get(base + "events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third stream: %s, want 503", resp.Status)
	}
	a.resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for s.clients.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams counted after one closed", s.clients.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := openStream(t, base+"events")
	c.next(t)
}

// TestSlowPageNeverBlocksVerdicts: pages that never read their stream (the
// socket's buffers fill) do not slow down the lane's calls, and a reading
// page still gets the latest state.
func TestSlowPageNeverBlocksVerdicts(t *testing.T) {
	s := New(Options{MaxClients: 4, Hold: time.Minute})
	base := serve(t, s)
	host := strings.TrimPrefix(strings.TrimSuffix(base, "/screen/"), "http://")
	for range 3 {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		// Ask for the stream, never read a byte of it.
		conn.Write([]byte("GET /screen/events HTTP/1.1\r\nHost: " + host + "\r\n\r\n"))
	}
	reader := openStream(t, base+"events")
	reader.next(t)
	gotLast := make(chan bool, 1)
	go func() {
		// Not t.Fatal here: this is not the test's goroutine.
		for reader.sc.Scan() {
			if strings.Contains(reader.sc.Text(), `"reason":"last required"`) {
				gotLast <- true
				return
			}
		}
		gotLast <- false
	}()
	start := time.Now()
	const n = 20000
	for i := range n {
		v := used
		v.UsedBy = strings.Repeat("Door B ", 100) // fill the sockets faster
		if i == n-1 {
			v = verify.Verdict{Reason: verify.RequirementNotMet, Requirement: "last"}
		}
		s.Verdict(v)
	}
	took := time.Since(start)
	// Each call only swaps a state under a mutex: microseconds. A bound
	// of seconds fails only if a call waited for a page.
	if took > 5*time.Second {
		t.Errorf("%d verdicts took %v with stalled pages connected", n, took)
	}
	select {
	case ok := <-gotLast:
		if !ok {
			t.Error("the reading page's stream ended before the last verdict")
		}
	case <-time.After(30 * time.Second):
		t.Error("the reading page never got the last verdict")
		reader.resp.Body.Close()
		<-gotLast
	}
	if got := s.Current(); got.Reason != "last required" {
		t.Errorf("current %+v", got)
	}
}
