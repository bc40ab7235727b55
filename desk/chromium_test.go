package desk

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/cdp"
	"github.com/kioskd/kioskd/status"
)

// TestDeskInChromium drives the desk in a real headless Chromium as staff
// use it: sign in with a token, a handheld scanner typing a code and Enter
// into the focused field (twice: checked in, then already used), a manual
// open with a reason; and a page of another origin that knows a staff
// token trying to open the door is refused. Set KIOSKD_SCREENSHOT_DIR to
// keep the screenshot.
func TestDeskInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	b := cdp.Start(t, 1000, 760)
	r := newRig(t)
	// Mounted as the daemon mounts it: behind the listener's host check.
	var refused atomic.Int32
	mux := http.NewServeMux()
	d := mustDesk(t, r)
	mux.Handle("/desk/", d.Handler())
	web := httptest.NewServer(status.CheckHost("127.0.0.1:0", nil, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rw := &statusRecorder{ResponseWriter: w}
		mux.ServeHTTP(rw, req)
		if req.Method != http.MethodGet && rw.code >= 400 {
			refused.Add(1)
		}
	})))
	t.Cleanup(web.Close)

	p, err := b.Open(ctx, web.URL+"/desk/")
	if err != nil {
		t.Fatal(err)
	}
	must := func(expr string) {
		t.Helper()
		if err := p.WaitTrue(ctx, expr); err != nil {
			t.Fatal(err)
		}
	}
	must(`document.activeElement && document.activeElement.id === "token"`)
	if err := p.Type(ctx, adaTok, true); err != nil {
		t.Fatal(err)
	}
	must(`document.getElementById("who").textContent === "signed in as ada" && document.activeElement.id === "code"`)

	// The handheld: the code's URL form, key by key, then Enter.
	if err := p.Type(ctx, "https://bitbadges.io/?code="+code, true); err != nil {
		t.Fatal(err)
	}
	must(`document.getElementById("result").dataset.state === "accept"`)
	var text string
	p.Eval(ctx, `document.getElementById("result").innerText`, &text)
	if !strings.Contains(text, "Checked in") || !strings.Contains(text, "Ada Lovelace") || !strings.Contains(text, "welcome") {
		t.Errorf("accept shows %q", text)
	}
	if err := p.Type(ctx, code, true); err != nil {
		t.Fatal(err)
	}
	must(`document.getElementById("result").dataset.state === "reject"`)
	p.Eval(ctx, `document.getElementById("result").innerText`, &text)
	if !strings.Contains(text, "Not accepted") || !strings.Contains(text, "already used at 14:02 at door-b") {
		t.Errorf("reject shows %q", text)
	}
	if got := r.chk.texts; len(got) != 2 || got[0] != "https://bitbadges.io/?code="+code || got[1] != code {
		t.Errorf("the checker got %q", got)
	}
	var html string
	p.Eval(ctx, `document.documentElement.outerHTML + document.getElementById("code").value`, &html)
	if strings.Contains(html, code) || strings.Contains(html, adaTok) {
		t.Error("the page still holds the code or the token")
	}

	// Manual open: no reason, then a reason.
	p.Eval(ctx, `document.querySelector("#open button").click()`, nil)
	must(`document.getElementById("open-msg").textContent === "A reason is required."`)
	p.Eval(ctx, `document.getElementById("reason").focus()`, nil)
	p.Type(ctx, "delivery at the back door", true)
	must(`document.getElementById("open-msg").textContent.startsWith("door opened by ada")`)
	if got := r.op.list(); len(got) != 1 || got[0] != (opening{"ada", "delivery at the back door"}) {
		t.Errorf("openings %q", got)
	}
	png, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("KIOSKD_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, "desk.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	// Another origin (another port) whose page knows ada's token tries
	// every way a page can send a POST: a form, a no-cors fetch, a CORS
	// fetch with the header (preflighted, refused).
	refused.Store(0)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><body>
<form id="f" method="POST" action="` + web.URL + `/desk/open" enctype="text/plain"><input name='{"reason":"csrf","x":"' value='"}'></form>
<script>
window.tries = 0;
fetch("` + web.URL + `/desk/open", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: '{"reason":"csrf no-cors"}'})
  .finally(() => { window.tries++; });
fetch("` + web.URL + `/desk/open", {method: "POST", headers: {"Content-Type": "application/json", "Authorization": "Bearer ` + adaTok + `"}, body: '{"reason":"csrf cors"}'})
  .catch(() => {}).finally(() => { window.tries++; });
</script></body>`))
	}))
	t.Cleanup(evil.Close)
	ep, err := b.Open(ctx, evil.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.WaitTrue(ctx, "window.tries === 2"); err != nil {
		t.Fatal(err)
	}
	ep.Eval(ctx, `document.getElementById("f").submit(); true`, nil)
	deadline := time.Now().Add(30 * time.Second)
	for refused.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := refused.Load(); n < 3 {
		t.Errorf("%d cross-site requests refused, want 3 (form, no-cors fetch, preflight)", n)
	}
	if got := r.op.list(); len(got) != 1 {
		t.Errorf("a page of another origin opened the door: %q", got)
	}
}

func mustDesk(t *testing.T, r *rig) *Desk {
	t.Helper()
	d, err := New(Options{Staff: []Staff{{"ada", adaTok}}, Checker: r.chk, Opener: r.op, CheckIn: true, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(c int) { s.code = c; s.ResponseWriter.WriteHeader(c) }
