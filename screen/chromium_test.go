package screen

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
	"github.com/kioskd/kioskd/verify"
)

// look is what the page shows, read from the live DOM.
type look struct {
	Mode      string   `json:"mode"`
	Seq       int      `json:"seq"`
	Text      string   `json:"text"`
	TitlePx   float64  `json:"titlePx"`
	Backdrop  string   `json:"backdrop"`
	Fault     bool     `json:"fault"`
	Overflow  bool     `json:"overflow"`
	Resources []string `json:"resources"`
}

const lookJS = `(() => ({
  mode: document.body.dataset.mode,
  seq: +document.body.dataset.seq,
  text: document.body.innerText,
  titlePx: parseFloat(getComputedStyle(document.getElementById("title")).fontSize),
  backdrop: getComputedStyle(document.body).backgroundColor,
  fault: !document.getElementById("fault").hidden,
  overflow: document.documentElement.scrollHeight > window.innerHeight,
  resources: performance.getEntriesByType("resource").map(e => e.name).filter(n => !/\/events(\?|$)/.test(n)),
}))()`

// seenJS records, for every state the page renders, the wall clock time
// (ms) it did so: the verdict → screen latency is measured in the browser.
const seenJS = `window.__seen = {}; new MutationObserver(() => { window.__seen[document.body.dataset.seq] = Date.now(); })
  .observe(document.body, {attributes: true, attributeFilter: ["data-seq"]}); true`

// TestScreenInChromium loads the screen in a real headless Chromium, as the
// daemon mounts it (a loopback client needs no token), and follows it
// through a hint, an accept with the name, a reject with its reason and a
// fault. Set KIOSKD_SCREENSHOT_DIR to keep the screenshots (docs/).
func TestScreenInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	b := cdp.Start(t, 1280, 720)

	var faults atomic.Value
	faults.Store(Faults{})
	s := New(Options{ShowName: true, Hold: time.Minute, Location: time.UTC, Health: func() Faults { return faults.Load().(Faults) }})
	rctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { s.Run(rctx); close(ran) }()
	mux := http.NewServeMux()
	mux.Handle("/screen/", status.RequireTokenOffLoopback("http-token", s.Handler()))
	web := httptest.NewServer(status.CheckHost("127.0.0.1:0", nil, mux))
	t.Cleanup(func() { stop(); <-ran; web.CloseClientConnections(); web.Close() })

	p, err := b.Open(ctx, web.URL+"/screen/")
	if err != nil {
		t.Fatal(err)
	}
	wait := func(what string, ok func(look) bool) look {
		t.Helper()
		var l look
		for {
			err := p.Eval(ctx, lookJS, &l)
			if err == nil && ok(l) {
				return l
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the page never showed %s; last %+v (%v)", what, l, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := p.Screenshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dir := os.Getenv("KIOSKD_SCREENSHOT_DIR")
		if dir == "" {
			dir = t.TempDir()
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	l := wait("the idle screen", func(l look) bool { return l.Seq > 0 })
	if l.Mode != "idle" || !strings.Contains(l.Text, "Hold your code here") {
		t.Errorf("idle: %+v", l)
	}
	if len(l.Resources) != 0 {
		t.Errorf("the page loaded other resources: %q", l.Resources)
	}
	if l.TitlePx < 60 {
		t.Errorf("title %v px: not legible from a step away", l.TitlePx)
	}
	if err := p.Eval(ctx, seenJS, nil); err != nil {
		t.Fatal(err)
	}

	s.Hint(HintTooFar)
	wait("the hint", func(l look) bool { return strings.Contains(l.Text, "bring the code closer") })
	shot("screen-hint")

	var lat []time.Duration
	verdict := func(v verify.Verdict, mode string) look {
		t.Helper()
		sent := time.Now()
		s.Verdict(v)
		seq := s.Current().Seq
		l := wait(mode, func(l look) bool { return l.Seq >= int(seq) })
		var at float64
		if err := p.Eval(ctx, "window.__seen["+itoa(int(seq))+"] || 0", &at); err != nil || at == 0 {
			t.Fatalf("no render time for state %d (%v)", seq, err)
		}
		lat = append(lat, time.UnixMilli(int64(at)).Sub(sent))
		return l
	}
	l = verdict(accept, "accept")
	if l.Mode != "accept" || !strings.Contains(l.Text, "Welcome") || !strings.Contains(l.Text, "Ada Lovelace") || l.Backdrop != "rgb(15, 122, 58)" {
		t.Errorf("accept: %+v", l)
	}
	shot("screen-accept")
	l = verdict(used, "reject")
	if l.Mode != "reject" || !strings.Contains(l.Text, "Not accepted") || !strings.Contains(l.Text, "already used at 14:02 at Door B") ||
		l.Backdrop != "rgb(179, 38, 30)" || strings.Contains(l.Text, "Ada") {
		t.Errorf("reject: %+v", l)
	}
	shot("screen-reject")
	l = verdict(verify.Verdict{Reason: verify.OutsideWindow, At: t0, ValidFrom: t0.Add(4*time.Hour + 55*time.Minute)}, "reject")
	if !strings.Contains(l.Text, "not valid until 19:00") {
		t.Errorf("window: %+v", l)
	}
	for _, secret := range []string{hash, hash[:8], "bb1ada"} {
		var html string
		p.Eval(ctx, "document.documentElement.outerHTML", &html)
		if strings.Contains(html, secret) {
			t.Errorf("the page holds %q", secret)
		}
	}

	faults.Store(Faults{Camera: true})
	l = wait("the fault notice", func(l look) bool { return l.Fault })
	if !strings.Contains(l.Text, "Out of order: the camera is not working") || l.Overflow {
		t.Errorf("fault: %+v", l)
	}
	shot("screen-fault")
	for i, d := range lat {
		// The test's own polling is not in it: the page stamps its render.
		t.Logf("verdict %d → rendered in Chromium: %v", i+1, d)
		if d > 2*time.Second {
			t.Errorf("verdict %d took %v to reach the page", i+1, d)
		}
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}
