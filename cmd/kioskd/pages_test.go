package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/cdp"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/screen"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
)

// pagesEnv is a kiosk with its camera replaying in a loop (show/showBlank)
// and extra config.
func pagesEnv(t *testing.T, extra, pages string) *env {
	t.Helper()
	e := newEnv(t, extra)
	cfg, _ := os.ReadFile(e.cfg)
	cfg = bytes.Replace(cfg, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1)
	listen := fmt.Sprintf("  listen: 127.0.0.1:%d\n", e.port)
	cfg = bytes.Replace(cfg, []byte(listen), []byte(listen+"  pages:\n"+pages), 1)
	os.WriteFile(e.cfg, cfg, 0o600)
	return e
}

// screenStream is the scan-mode screen's event stream, read as the page
// reads it.
type screenStream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
	raw  strings.Builder
}

func openScreen(t *testing.T, e *env) *screenStream {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/screen/events", e.port))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("screen events: %s", resp.Status)
	}
	s := &screenStream{body: resp.Body, sc: bufio.NewScanner(resp.Body)}
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

// next returns the next View that ok accepts, and when it arrived. The
// stream's reads are bounded by closing it at the deadline.
func (s *screenStream) next(t *testing.T, what string, ok func(screen.View) bool) (screen.View, time.Time) {
	t.Helper()
	timer := time.AfterFunc(30*time.Second, func() { s.body.Close() })
	defer timer.Stop()
	for s.sc.Scan() {
		data, isData := strings.CutPrefix(s.sc.Text(), "data: ")
		if !isData {
			continue
		}
		got := time.Now()
		s.raw.WriteString(data + "\n")
		var v screen.View
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatalf("screen event %q: %v", data, err)
		}
		if ok(v) {
			return v, got
		}
	}
	t.Fatalf("the screen never showed %s (stream: %v); events:\n%s", what, s.sc.Err(), s.raw.String())
	return screen.View{}, time.Time{}
}

// TestScreenThroughTheBinary: the kiosk's own screen (a loopback client,
// no token) hears each verdict of the lane with its reason in plain words
// and the name (screen.show_name), never a code; the time from the
// verdict to its event at the client is measured (a generous bound only).
// With Chromium installed the page itself is loaded from the daemon and
// shows the verdict too.
func TestScreenThroughTheBinary(t *testing.T) {
	e := pagesEnv(t, "", "    - kind: screen\n      show_name: true\n      hold: 1s\n")
	d := startDaemon(t, e)
	d.waitFor("the start-up sync", 30*time.Second, func(s status.Snapshot) bool { return s.Cache.Count == 42 })
	st := openScreen(t, e)
	st.next(t, "the idle screen", func(v screen.View) bool { return v.Mode == screen.Idle })

	var lat []time.Duration
	verdict := func(frame, what string, ok func(screen.View) bool) screen.View {
		t.Helper()
		d.show(frame)
		v, got := st.next(t, what, func(v screen.View) bool { return v.Mode != screen.Idle && ok(v) })
		lat = append(lat, got.Sub(v.At))
		d.showBlank()
		return v
	}
	v := verdict("01-code-a.png", "the accept", func(v screen.View) bool { return v.Mode == screen.Accept })
	if v.Title != "Welcome" || v.Name != "Valid guest" {
		t.Errorf("accept: %+v", v)
	}
	firstUse := v.At
	v = verdict("02-code-a-again.png", "already used", func(v screen.View) bool { return v.Mode == screen.Reject })
	if want := "already used at " + firstUse.Local().Format("15:04") + " at test-door"; v.Reason != want {
		t.Errorf("reject: %+v, want %q", v, want)
	}
	if v.Name != "" {
		t.Errorf("a reject shows the name %q", v.Name)
	}
	verdict("04-code-b-unknown.png", "unknown", func(v screen.View) bool { return v.Reason == "code not recognised for this venue" })
	verdict("05-url-not-a-code.png", "not a code", func(v screen.View) bool { return v.Reason == "this QR code is not an entry code" })
	verdict("06-dark-mode-code-c.png", "the dark-mode accept", func(v screen.View) bool { return v.Name == "Dark guest" })

	valid, unknown, dark := demoframes.Codes()
	for _, c := range []string{valid, unknown, dark} {
		if strings.Contains(st.raw.String(), c) || strings.Contains(st.raw.String(), verifyHash(c)[:8]) {
			t.Error("a code or its hash reached the screen")
		}
	}
	if m := scrapeMetrics(t, e); !strings.Contains(m, "kioskd_screen_clients 1\n") {
		t.Error("/metrics lacks kioskd_screen_clients 1")
	}
	slices.Sort(lat)
	t.Logf("verdict → screen event at the client (decision time to SSE line read), %d verdicts: min %v median %v max %v",
		len(lat), lat[0], lat[len(lat)/2], lat[len(lat)-1])
	if lat[len(lat)/2] > time.Second {
		t.Errorf("median verdict → event %v", lat[len(lat)/2])
	}

	// The page itself, in Chromium, from the daemon.
	if _, err := os.Stat(cdp.ChromiumPath); err != nil {
		t.Log("Chromium part skipped: " + cdp.ChromiumPath + " is absent")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := cdp.Start(t, 1280, 720)
	p, err := b.Open(ctx, fmt.Sprintf("http://127.0.0.1:%d/screen/", e.port))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitTrue(ctx, `document.body.dataset.mode === "idle" && +document.body.dataset.seq > 0`); err != nil {
		t.Fatal(err)
	}
	d.show("06-dark-mode-code-c.png") // used once already: a reject with the time and the door
	if err := p.WaitTrue(ctx, `document.body.dataset.mode === "reject" && document.body.innerText.includes("already used at")`); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("KIOSKD_SCREENSHOT_DIR"); dir != "" {
		if png, err := p.Screenshot(ctx); err == nil {
			os.WriteFile(filepath.Join(dir, "screen-binary-reject.png"), png, 0o644)
		}
	}
}

func verifyHash(code string) string { return store.HashCode(code) }

// TestDeskThroughTheBinary: staff check codes through the daemon's desk
// (named token from desk.staff_file), the check redeems as a scan does and
// the relay stays still; a manual open needs a reason, pulses the relay
// after it is recorded, is rate-limited, and is an event with the staff
// member's name and the reason (kioskd events list); a POST from another
// origin is refused.
func TestDeskThroughTheBinary(t *testing.T) {
	rv := newEventsReceiver(t, 0)
	e := pagesEnv(t, fmt.Sprintf("events:\n  url: %s/ingest\n  upload_interval: 1s\n", rv.srv.URL),
		"    - kind: desk\n      staff_file: staff\n      manual_opens: 1\n      manual_open_window: 1h\n    - kind: screen\n")
	const adaTok = "ada-5f1d0c2b9e8a7f6e"
	if err := os.WriteFile(filepath.Join(e.dir, "staff"), []byte("# desk staff\nada "+adaTok+"\ngrace grace-0a1b2c3d4e5f6a7b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, e)
	d.waitFor("the start-up sync", 30*time.Second, func(s status.Snapshot) bool { return s.Cache.Count == 42 })
	base := fmt.Sprintf("http://127.0.0.1:%d/desk/", e.port)
	post := func(path, body string, hdr map[string]string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adaTok)
		req.Header.Set("Origin", fmt.Sprintf("http://127.0.0.1:%d", e.port))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	valid, _, _ := demoframes.Codes()
	scr := openScreen(t, e)
	scr.next(t, "the idle screen", func(v screen.View) bool { return v.Mode == screen.Idle })

	code, res := post("check", `{"code":"https://bitbadges.io/?code=`+strings.ToUpper(valid)+`"}`, nil)
	if code != 200 || res["accept"] != true || res["title"] != "Checked in" || res["name"] != "Valid guest" {
		t.Fatalf("desk check: %d %v", code, res)
	}
	code, res = post("check", `{"code":"`+valid+`"}`, nil)
	if code != 200 || res["accept"] != false || !strings.HasPrefix(fmt.Sprint(res["words"]), "already used at ") ||
		!strings.HasSuffix(fmt.Sprint(res["words"]), " at test-door") {
		t.Fatalf("second desk check: %d %v", code, res)
	}
	// A desk check is a use: the door's camera then refuses the code.
	d.show("01-code-a.png")
	s := d.waitFor("the door's verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) >= 3 })
	if s.Recent[0].Accept || s.Recent[0].Reason != "already-used" {
		t.Errorf("the door after a desk check-in: %+v", s.Recent[0])
	}
	if strings.Contains(d.log.String(), relayOn) {
		t.Fatal("a desk check drove the relay (desk.open_on_accept is off)")
	}
	// The door's screen shows the door's verdict, not the desk's: the
	// first verdict it shows is the camera's reject.
	if v, _ := scr.next(t, "the door's verdict", func(v screen.View) bool { return v.Mode != screen.Idle }); v.Mode != screen.Reject {
		t.Errorf("the door's screen showed a desk check: %+v", v)
	}

	if code, res = post("open", `{"reason":"x"}`, nil); code != 400 {
		t.Errorf("open without a real reason: %d %v", code, res)
	}
	if code, res = post("open", `{"reason":"forged"}`, map[string]string{"Origin": "http://evil.example"}); code != 403 {
		t.Errorf("open from another origin: %d %v", code, res)
	}
	if strings.Contains(d.log.String(), relayOn) {
		t.Fatal("the relay moved before any manual open was allowed")
	}
	if code, res = post("open", `{"reason":"delivery at the back door"}`, nil); code != 200 {
		t.Fatalf("open: %d %v", code, res)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(d.log.String(), relayOn) {
		if time.Now().After(deadline) {
			t.Fatal("the relay never pulsed for the manual open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	l := d.log.String()
	if rec, open := strings.Index(l, "manual open recorded"), strings.Index(l, relayOn); rec < 0 || open < rec {
		t.Errorf("the relay (at %d) before the manual open was recorded (at %d)", open, rec)
	}
	if code, res = post("open", `{"reason":"once more"}`, nil); code != 429 {
		t.Errorf("second open within the window: %d %v", code, res)
	}
	if strings.Contains(l, adaTok) || strings.Contains(strings.ToLower(l), valid) {
		t.Error("the log holds the staff token or the code")
	}
	m := scrapeMetrics(t, e)
	for _, want := range []string{`kioskd_desk_manual_opens_total{result="opened"} 1`, `kioskd_desk_manual_opens_total{result="rate_limited"} 1`,
		"kioskd_desk_checks_total 2", "kioskd_desk_refused_total 1"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Uploaded: the event names the staff member and the reason.
	deadline = time.Now().Add(30 * time.Second)
	var opens []map[string]any
	for len(opens) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		opens = rv.events("manual-open")
	}
	if len(opens) != 1 || opens[0]["detail"] != "staff ada; reason: delivery at the back door" || opens[0]["accept"] != true || opens[0]["kiosk"] != "test-door" || opens[0]["input"] != "desk" {
		t.Errorf("uploaded manual opens: %v", opens)
	}
	for _, ev := range rv.events("") {
		if b, _ := json.Marshal(ev); strings.Contains(string(b), adaTok) || strings.Contains(string(b), valid) {
			t.Errorf("an uploaded event holds the token or the code: %s", b)
		}
	}
}

// TestDeskNeedsValidStaffFile: a staff file that does not parse stops the
// daemon with exit 2 and a message naming the key, never a token.
func TestDeskNeedsValidStaffFile(t *testing.T) {
	e := pagesEnv(t, "", "    - kind: desk\n      staff_file: staff\n")
	os.WriteFile(filepath.Join(e.dir, "staff"), []byte("ada short-secret\n"), 0o600)
	os.MkdirAll(filepath.Join(e.dir, "frames"), 0o700)
	(&daemonProc{t: t, e: e}).show("03-no-qr.png")
	out, errOut, code := e.kioskd("run", "-config", e.cfg)
	if code != exitError || !strings.Contains(errOut, "page desk: staff_file staff: line 1 (ada)") || strings.Contains(out+errOut, "short-secret") {
		t.Errorf("run: exit %d\n%s%s", code, out, errOut)
	}
}
