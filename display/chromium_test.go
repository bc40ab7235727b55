package display

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/kioskd/kioskd/display/authsignal/astest"
	"github.com/kioskd/kioskd/status"
)

const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4), so the
// test needs no WebSocket library and opens no debugging port.
type browser struct {
	cmd     *exec.Cmd
	in      *os.File // we write, Chromium reads (its fd 3)
	out     *os.File // Chromium writes (its fd 4), we read
	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpReply
	done    chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func startBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("headless Chromium test skipped: " + chromiumPath + " is absent (apt-get install chromium)")
	}
	// Chromium's end of each pipe goes to the child; ours stays here.
	chromeIn, weWrite, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	weRead, chromeOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir="+t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height),
		"--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{chromeIn, chromeOut}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	chromeIn.Close()
	chromeOut.Close()
	b := &browser{cmd: cmd, in: weWrite, out: weRead, waiting: map[int]chan cdpReply{}, done: make(chan struct{})}
	go b.readLoop()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.call(ctx, "", "Browser.close", nil, nil)
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		weWrite.Close()
		weRead.Close()
		if t.Failed() {
			t.Logf("Chromium stderr (tail): %s", tail(stderr.String(), 2000))
		}
	})
	return b
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (b *browser) readLoop() {
	defer close(b.done)
	r := bufio.NewReader(b.out)
	for {
		msg, err := r.ReadBytes(0)
		if err != nil {
			return
		}
		var m struct {
			ID int `json:"id"`
			cdpReply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
			continue // an event: not needed
		}
		b.mu.Lock()
		ch := b.waiting[m.ID]
		delete(b.waiting, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

// call sends one DevTools command (to a page when session is set) and
// decodes its result into out.
func (b *browser) call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.in.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			return fmt.Errorf("%s: %s", method, rep.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(rep.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("%s: Chromium went away", method)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// open loads url in a new tab and returns the tab's session.
func (b *browser) open(ctx context.Context, url string) (string, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target); err != nil {
		return "", err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	return att.SessionID, err
}

func (b *browser) eval(ctx context.Context, session, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := b.call(ctx, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res); err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("evaluating %q: %s", expr, res.ExceptionDetails.Text)
	}
	return json.Unmarshal(res.Result.Value, out)
}

func (b *browser) screenshot(ctx context.Context, session string) ([]byte, error) {
	var res struct {
		Data string `json:"data"`
	}
	if err := b.call(ctx, session, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(res.Data)
}

// pageView is what the page shows, read from the live DOM.
type pageView struct {
	State     string   `json:"state"`
	Text      string   `json:"text"`
	HasSVG    bool     `json:"hasSVG"`
	QRWidth   float64  `json:"qrWidth"`
	TitlePx   float64  `json:"titlePx"`
	TitleRGB  string   `json:"titleRGB"`
	Backdrop  string   `json:"backdrop"`
	Viewport  float64  `json:"viewport"`
	Resources []string `json:"resources"`
}

const viewJS = `(() => {
  const qr = document.getElementById("qr"), h = document.getElementById("title");
  const r = qr.getBoundingClientRect();
  return {
    state: document.body.dataset.state,
    text: document.body.innerText,
    hasSVG: !!qr.querySelector("svg path"),
    qrWidth: qr.offsetParent ? r.width : 0,
    titlePx: parseFloat(getComputedStyle(h).fontSize),
    titleRGB: getComputedStyle(h).color,
    backdrop: getComputedStyle(document.body).backgroundColor,
    viewport: window.innerHeight,
    resources: performance.getEntriesByType("resource").map(e => e.name).filter(n => !n.endsWith("/events")),
  };
})()`

// waitView polls the page until ok accepts what it shows.
func (b *browser) waitView(t *testing.T, ctx context.Context, session, what string, ok func(pageView) bool) pageView {
	t.Helper()
	var v pageView
	for {
		err := b.eval(ctx, session, viewJS, &v)
		if err == nil && ok(v) {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("page never showed %s; last view %+v (err %v)", what, v, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// shot saves a screenshot in the test's temp dir, or in $DISPLAY_SCREENSHOTS
// when set (to look at them), and returns it decoded.
func (b *browser) shot(t *testing.T, ctx context.Context, session, name string) image.Image {
	t.Helper()
	data, err := b.screenshot(ctx, session)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("DISPLAY_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	return img
}

func decodeQR(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_POSSIBLE_FORMATS: []gozxing.BarcodeFormat{gozxing.BarcodeFormat_QR_CODE}})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// TestPageInChromium loads the page once in a real headless Chromium and
// follows it through the states as the phone acts: the QR (scannable from a
// screenshot), the claimed screen, the verdicts, and the offline screen.
func TestPageInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := startBrowser(t, 1280, 720)

	r := newRigHold(t, 1500*time.Millisecond)
	// Mounted as the daemon mounts it with a token set (cmd/kioskd/run.go):
	// the kiosk's own browser is a loopback client and needs no token.
	mux := http.NewServeMux()
	mux.Handle("/display/", status.RequireTokenOffLoopback("http-token", r.ctrl.Handler()))
	web := httptest.NewServer(status.CheckHost("127.0.0.1:0", nil, mux)) // 127.0.0.1
	t.Cleanup(func() { web.CloseClientConnections(); web.Close() })      // the page's event stream never ends by itself

	r.wait(Scan, "")
	session, err := b.open(ctx, web.URL+"/display/")
	if err != nil {
		t.Fatal(err)
	}

	// 1. The QR code, large and scannable.
	v := b.waitView(t, ctx, session, "the QR code", func(v pageView) bool { return v.State == "scan" && v.HasSVG && v.QRWidth > 0 })
	if !strings.Contains(v.Text, "Scan with your phone") {
		t.Errorf("scan text: %q", v.Text)
	}
	if v.QRWidth < 0.5*v.Viewport {
		t.Errorf("QR %.0f px wide on a %.0f px high screen: too small", v.QRWidth, v.Viewport)
	}
	if v.TitlePx < 40 {
		t.Errorf("title font %.0f px: not legible from a distance", v.TitlePx)
	}
	if len(v.Resources) != 0 {
		t.Errorf("page loaded other resources: %q", v.Resources)
	}
	id := r.srv.Latest()
	img := b.shot(t, ctx, session, "1-scan")
	got, err := decodeQR(img)
	if err != nil || got != id {
		t.Fatalf("QR in the screenshot decodes to %q (%v), want the challenge id %q", got, err, id)
	}

	// 2. Claimed: the QR disappears.
	phone := r.phone("usr_alice")
	if _, err := phone.Claim(ctx, id); err != nil {
		t.Fatal(err)
	}
	v = b.waitView(t, ctx, session, "the claimed screen", func(v pageView) bool { return v.State == "check-phone" })
	if v.HasSVG || v.QRWidth != 0 || !strings.Contains(v.Text, "Check your phone") {
		t.Errorf("claimed view %+v", v)
	}
	img = b.shot(t, ctx, session, "2-check-phone")
	if _, err := decodeQR(img); err == nil {
		t.Error("a QR code is still visible after the claim")
	}

	// 3. Approved: welcome.
	if err := phone.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	v = b.waitView(t, ctx, session, "the welcome screen", func(v pageView) bool { return v.State == "welcome" })
	if !strings.Contains(v.Text, "Welcome") || v.HasSVG {
		t.Errorf("welcome view %+v", v)
	}
	b.shot(t, ctx, session, "3-welcome")

	// 4. A fresh QR, then a decline.
	v = b.waitView(t, ctx, session, "a new QR", func(v pageView) bool { return v.State == "scan" && v.HasSVG })
	id2 := r.srv.Latest()
	if id2 == id {
		t.Fatal("same challenge after an approval")
	}
	if got, err := decodeQR(b.shot(t, ctx, session, "4-scan-again")); err != nil || got != id2 {
		t.Fatalf("second QR decodes to %q (%v), want %q", got, err, id2)
	}
	phone2 := r.phone("usr_bob")
	if _, err := phone2.Claim(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if err := phone2.Decline(ctx, id2); err != nil {
		t.Fatal(err)
	}
	v = b.waitView(t, ctx, session, "the declined screen", func(v pageView) bool { return v.State == "declined" })
	if !strings.Contains(v.Text, "Declined") {
		t.Errorf("declined view %+v", v)
	}
	b.shot(t, ctx, session, "5-declined")

	// 5. Offline: the API stops answering.
	r.srv.SetFault("", astest.Hangup)
	v = b.waitView(t, ctx, session, "the unavailable screen", func(v pageView) bool { return v.State == "unavailable" })
	if !strings.Contains(v.Text, "Display sign-in unavailable") || !strings.Contains(v.Text, "Scan your BitBadges code instead") || v.HasSVG {
		t.Errorf("offline view %+v", v)
	}
	b.shot(t, ctx, session, "6-unavailable")

	// 6. Back by itself.
	r.srv.SetFault("", astest.NoFault)
	b.waitView(t, ctx, session, "the QR after the outage", func(v pageView) bool { return v.State == "scan" && v.HasSVG })
}

// TestPageSmallScreen: the official 7" Pi display is 800x480; the QR must
// still fit and scan.
func TestPageSmallScreen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBrowser(t, 800, 480)
	r := newRigHold(t, time.Second)
	web := httptest.NewServer(r.ctrl.Handler())
	t.Cleanup(func() { web.CloseClientConnections(); web.Close() })
	r.wait(Scan, "")
	session, err := b.open(ctx, web.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	b.waitView(t, ctx, session, "the QR code", func(v pageView) bool { return v.State == "scan" && v.HasSVG })
	var fits bool
	if err := b.eval(ctx, session, `document.documentElement.scrollHeight <= window.innerHeight && document.getElementById("detail").getBoundingClientRect().bottom <= window.innerHeight`, &fits); err != nil {
		t.Fatal(err)
	}
	if !fits {
		t.Error("the page overflows an 800x480 screen")
	}
	if got, err := decodeQR(b.shot(t, ctx, session, "small-scan")); err != nil || got != r.srv.Latest() {
		t.Fatalf("QR decodes to %q (%v)", got, err)
	}
}

// newRigHold is newRig with a verdict hold long enough for a browser poll.
func newRigHold(t *testing.T, hold time.Duration) *rig {
	return newRig(t, rigOpts{hold: hold})
}
