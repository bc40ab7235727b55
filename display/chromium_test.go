package display

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/kioskd/kioskd/display/authsignal/astest"
	"github.com/kioskd/kioskd/internal/cdp"
	"github.com/kioskd/kioskd/status"
)

// These tests drive a headless Chromium through internal/cdp (the DevTools
// protocol on a pipe), as the status, desk and screen pages' tests do.

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
	// SVG is the QR's markup, to tell whether the page changed around a
	// screenshot; QR the code's box in CSS px; Width, Height and DPR the
	// viewport's, to map that box onto the screenshot's pixels.
	SVG    string  `json:"svg"`
	QR     box     `json:"qr"`
	Units  float64 `json:"units"` // the QR's width in modules, its quiet zone included
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	DPR    float64 `json:"dpr"`
}

type box struct{ X, Y, W, H float64 }

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
    svg: qr.innerHTML,
    units: qr.querySelector("svg") ? qr.querySelector("svg").viewBox.baseVal.width : 0,
    qr: {X: r.left, Y: r.top, W: r.width, H: r.height},
    width: window.innerWidth, height: window.innerHeight, dpr: window.devicePixelRatio,
  };
})()`

// waitView polls the page until ok accepts what it shows.
func waitView(t *testing.T, ctx context.Context, p *cdp.Page, what string, ok func(pageView) bool) pageView {
	t.Helper()
	var v pageView
	for {
		err := p.Eval(ctx, viewJS, &v)
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

// shot takes a screenshot, saves it in the test's temp dir (or in
// $DISPLAY_SCREENSHOTS when set, to look at them) and returns it decoded.
func shot(t *testing.T, ctx context.Context, p *cdp.Page, name string) image.Image {
	t.Helper()
	data, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("DISPLAY_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s (%s): %v", name, path, err)
	}
	return img
}

// shotQR screenshots the QR the page shows and returns the code it scans
// to, as a phone in front of the screen would read it. It waits for
// conditions, never for time: the page in the scan state with the whole QR
// inside the viewport; then the screenshot; then the page read again. A
// screenshot that the page changed around (the controller replaced the
// challenge, or went offline and back: a loaded, emulated run polls
// slowly) is not evidence either way, and is taken again. The QR is cut out
// of the screenshot by its box in the DOM (CSS px times devicePixelRatio),
// so a scale factor or a viewport other than the window size shows as what
// it is rather than as a code that does not decode.
func shotQR(t *testing.T, ctx context.Context, p *cdp.Page, name string) string {
	t.Helper()
	inView := func(v pageView) bool {
		return v.State == "scan" && v.HasSVG && v.QR.W > 0 && v.QR.X >= 0 && v.QR.Y >= 0 &&
			v.QR.X+v.QR.W <= v.Width && v.QR.Y+v.QR.H <= v.Height
	}
	for try := 1; ; try++ {
		before := waitView(t, ctx, p, "the whole QR in the viewport", inView)
		img := shot(t, ctx, p, name)
		var after pageView
		if err := p.Eval(ctx, viewJS, &after); err != nil {
			t.Fatal(err)
		}
		if after.State != before.State || after.SVG != before.SVG || after.QR != before.QR {
			t.Logf("%s: the page changed around screenshot %d (%s -> %s); again", name, try, before.State, after.State)
			continue
		}
		// Every module the same whole number of screen pixels: a QR scaled
		// to, say, 11.68 px a module is drawn (crisp edges) with modules of
		// 11 and 12 px, and about one code in 40 then fails to decode.
		if px := before.QR.W * before.DPR / before.Units; px != float64(int(px)) || px < 2 {
			t.Errorf("%s: %.2f screen px per module (%.1f CSS px for %.0f modules at %.2fx): not a whole number",
				name, px, before.QR.W, before.Units, before.DPR)
		}
		b := img.Bounds()
		if w, h := int(before.Width*before.DPR+0.5), int(before.Height*before.DPR+0.5); b.Dx() != w || b.Dy() != h {
			t.Fatalf("%s: screenshot %dx%d, viewport %.0fx%.0f at %.2fx: the QR's box does not map onto it", name, b.Dx(), b.Dy(), before.Width, before.Height, before.DPR)
		}
		// The QR's box less one module on each side: the code's own
		// quiet zone (4 modules of white) is inside the box, so the cut
		// holds the code on white and nothing of the page (the title and
		// the line below come within a few px on a small screen), even
		// where the box lies on a fraction of a pixel.
		q, mod := before.QR, before.QR.W/before.Units
		r := image.Rect(int((q.X+mod)*before.DPR+0.5), int((q.Y+mod)*before.DPR+0.5),
			int((q.X+q.W-mod)*before.DPR+0.5), int((q.Y+q.H-mod)*before.DPR+0.5)).Intersect(b)
		crop := image.NewGray(r)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				crop.Set(x, y, color.GrayModel.Convert(img.At(x, y)))
			}
		}
		// Painted: a QR's box is some dark modules on white. A box all one
		// colour is a frame from before the paint: not evidence either.
		dark := 0
		for _, v := range crop.Pix {
			if v < 128 {
				dark++
			}
		}
		if f := float64(dark) / float64(len(crop.Pix)); f < 0.05 || f > 0.95 {
			t.Logf("%s: screenshot %d shows the QR's box unpainted (%.0f%% dark); again", name, try, 100*f)
			continue
		}
		text, err := decodePure(crop)
		if err != nil {
			t.Fatalf("%s: the QR the page showed (unchanged across the screenshot, %.0f px at %.2fx) does not decode: %v", name, q.W, before.DPR, err)
		}
		return text
	}
}

// decodePure reads a QR that fills img on white, straight and unscaled
// but for whole pixels a module (ZXing's PURE_BARCODE): the modules are
// sampled on their grid. The general detector (decodeQR) misses a few
// crisp, screen-drawn codes in a hundred whatever the crop (measured: 3 of
// about 110 of this page's at 6 px a module; a finder-like run in the data
// misleads it, "(x, y) = (54, -4)"): a property of the library, not of the
// page, and the test is about the page.
func decodePure(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// decodeQR looks for a QR code anywhere in img, as a phone's scanner does.
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
	b := cdp.Start(t, 1280, 720)

	r := newRigHold(t, 1500*time.Millisecond)
	// Mounted as the daemon mounts it with a token set (cmd/kioskd/run.go):
	// the kiosk's own browser is a loopback client and needs no token.
	mux := http.NewServeMux()
	mux.Handle("/display/", status.RequireTokenOffLoopback("http-token", r.ctrl.Handler()))
	web := httptest.NewServer(status.CheckHost("127.0.0.1:0", nil, mux)) // 127.0.0.1
	t.Cleanup(func() { web.CloseClientConnections(); web.Close() })      // the page's event stream never ends by itself

	r.wait(Scan, "")
	p, err := b.Open(ctx, web.URL+"/display/")
	if err != nil {
		t.Fatal(err)
	}

	// 1. The QR code, large and scannable.
	v := waitView(t, ctx, p, "the QR code", func(v pageView) bool { return v.State == "scan" && v.HasSVG && v.QRWidth > 0 })
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
	// The phone claims what the screen shows; it must be the challenge
	// the controller created last.
	id := shotQR(t, ctx, p, "1-scan")
	if latest := r.srv.Latest(); id != latest {
		t.Fatalf("QR in the screenshot decodes to %q, want the latest challenge id %q", id, latest)
	}

	// 2. Claimed: the QR disappears.
	phone := r.phone("usr_alice")
	if _, err := phone.Claim(ctx, id); err != nil {
		t.Fatal(err)
	}
	v = waitView(t, ctx, p, "the claimed screen", func(v pageView) bool { return v.State == "check-phone" })
	if v.HasSVG || v.QRWidth != 0 || !strings.Contains(v.Text, "Check your phone") {
		t.Errorf("claimed view %+v", v)
	}
	if _, err := decodeQR(shot(t, ctx, p, "2-check-phone")); err == nil {
		t.Error("a QR code is still visible after the claim")
	}

	// 3. Approved: welcome.
	if err := phone.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	v = waitView(t, ctx, p, "the welcome screen", func(v pageView) bool { return v.State == "welcome" })
	if !strings.Contains(v.Text, "Welcome") || v.HasSVG {
		t.Errorf("welcome view %+v", v)
	}
	shot(t, ctx, p, "3-welcome")

	// 4. A fresh QR, then a decline.
	id2 := shotQR(t, ctx, p, "4-scan-again")
	if id2 == id {
		t.Fatal("same challenge after an approval")
	}
	if latest := r.srv.Latest(); id2 != latest {
		t.Fatalf("second QR decodes to %q, want the latest challenge id %q", id2, latest)
	}
	phone2 := r.phone("usr_bob")
	if _, err := phone2.Claim(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if err := phone2.Decline(ctx, id2); err != nil {
		t.Fatal(err)
	}
	v = waitView(t, ctx, p, "the declined screen", func(v pageView) bool { return v.State == "declined" })
	if !strings.Contains(v.Text, "Declined") {
		t.Errorf("declined view %+v", v)
	}
	shot(t, ctx, p, "5-declined")

	// 5. Offline: the API stops answering.
	r.srv.SetFault("", astest.Hangup)
	v = waitView(t, ctx, p, "the unavailable screen", func(v pageView) bool { return v.State == "unavailable" })
	if !strings.Contains(v.Text, "Display sign-in unavailable") || !strings.Contains(v.Text, "Scan your BitBadges code instead") || v.HasSVG {
		t.Errorf("offline view %+v", v)
	}
	shot(t, ctx, p, "6-unavailable")

	// 6. Back by itself.
	r.srv.SetFault("", astest.NoFault)
	waitView(t, ctx, p, "the QR after the outage", func(v pageView) bool { return v.State == "scan" && v.HasSVG })
}

// TestPageSmallScreen: the official 7" Pi display is 800x480; the QR must
// still fit and scan.
func TestPageSmallScreen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := cdp.Start(t, 800, 480)
	r := newRigHold(t, time.Second)
	web := httptest.NewServer(r.ctrl.Handler())
	t.Cleanup(func() { web.CloseClientConnections(); web.Close() })
	r.wait(Scan, "")
	p, err := b.Open(ctx, web.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	waitView(t, ctx, p, "the QR code", func(v pageView) bool { return v.State == "scan" && v.HasSVG })
	var fits bool
	if err := p.Eval(ctx, `document.documentElement.scrollHeight <= window.innerHeight && document.getElementById("detail").getBoundingClientRect().bottom <= window.innerHeight`, &fits); err != nil {
		t.Fatal(err)
	}
	if !fits {
		t.Error("the page overflows an 800x480 screen")
	}
	if got := shotQR(t, ctx, p, "small-scan"); got != r.srv.Latest() {
		t.Fatalf("QR decodes to %q, want the latest challenge id %q", got, r.srv.Latest())
	}
}

// newRigHold is newRig with a verdict hold long enough for a browser poll.
func newRigHold(t *testing.T, hold time.Duration) *rig {
	return newRig(t, rigOpts{hold: hold})
}
