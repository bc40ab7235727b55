package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/cdp"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/screen"
	"github.com/kioskd/kioskd/status"
)

// TestScreenHintThroughTheBinary: a code too small to read (a bundled
// frame shrunk at test time) puts "bring the code closer" on the kiosk's
// screen; the code read clears it for the verdict and it does not come
// back while the code is read; a hint shown goes once nothing code-like is
// in view. With Chromium installed the page itself shows the hint.
func TestScreenHintThroughTheBinary(t *testing.T) {
	e := pagesEnv(t, "", "    - kind: screen\n      hold: 1s\n")
	d := startDaemon(t, e)
	d.waitFor("the start-up sync", 30*time.Second, func(s status.Snapshot) bool { return s.Cache.Count == 42 })
	st := openScreen(t, e)
	st.next(t, "the idle screen", func(v screen.View) bool { return v.Mode == screen.Idle && v.Hint == "" })

	far := farFrame(t, "01-code-a.png", 4)
	const closer = "bring the code closer"
	showData(t, e, far)
	st.next(t, "the closer hint", func(v screen.View) bool { return v.Mode == screen.Idle && v.Hint == closer })

	d.show("01-code-a.png")
	v, _ := st.next(t, "the accept", func(v screen.View) bool { return v.Mode != screen.Idle })
	if v.Mode != screen.Accept || v.Hint != "" {
		t.Errorf("the code read: %+v, want an accept without a hint", v)
	}
	// Hold is 1s; the code is still in view and read on every frame.
	v, _ = st.next(t, "idle after the verdict", func(v screen.View) bool { return v.Mode == screen.Idle })
	if v.Hint != "" {
		t.Errorf("after the verdict, with the code read: hint %q", v.Hint)
	}

	showData(t, e, far)
	st.next(t, "the closer hint again", func(v screen.View) bool { return v.Hint == closer })
	d.show("03-no-qr.png")
	st.next(t, "the hint gone with nothing in view", func(v screen.View) bool { return v.Mode == screen.Idle && v.Hint == "" })

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
	showData(t, e, far)
	if err := p.WaitTrue(ctx, `document.body.innerText.includes("`+closer+`")`); err != nil {
		t.Fatalf("the page never showed the hint: %v", err)
	}
	if dir := os.Getenv("KIOSKD_SCREENSHOT_DIR"); dir != "" {
		if png, err := p.Screenshot(ctx); err == nil {
			os.WriteFile(filepath.Join(dir, "screen-binary-hint.png"), png, 0o644)
		}
	}
	d.show("03-no-qr.png")
	if err := p.WaitTrue(ctx, `!document.body.innerText.includes("`+closer+`")`); err != nil {
		t.Fatalf("the page kept the hint with nothing in view: %v", err)
	}
}

// showData puts a frame made by the test in front of the kiosk's camera (as
// daemonProc.show does a bundled one).
func showData(t *testing.T, e *env, data []byte) {
	t.Helper()
	tmp := filepath.Join(e.dir, "frame.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(e.dir, "frames", "frame.png")); err != nil {
		t.Fatal(err)
	}
}

// TestFarFrame: the frame the hint test shows is, to the decoder, a code
// too far away, not a code read; the frame it is made from is read.
func TestFarFrame(t *testing.T) {
	for _, tt := range []struct {
		scale int
		read  bool
		hint  scanner.Hint
	}{{1, true, scanner.HintNone}, {4, false, scanner.HintTooFar}} {
		data := farFrame(t, "01-code-a.png", tt.scale)
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		d := scanner.NewDecoder(scanner.DecoderOptions{})
		f := scanner.FrameFromImage(img, nil)
		f.Seq = 1
		if _, ok := d.Decode(f); ok != tt.read || d.Hint() != tt.hint {
			t.Errorf("scale %d: read %v hint %q, want read %v hint %q", tt.scale, ok, d.Hint(), tt.read, tt.hint)
		}
	}
}

// farFrame is a bundled frame as a camera would see it from further away:
// shrunk by scale (a box filter) into the middle of a frame of the same
// size, the rest the frame's own corner level. Made at test time, so no
// synthetic image is committed.
func farFrame(t *testing.T, name string, scale int) []byte {
	t.Helper()
	data, err := fs.ReadFile(demoframes.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	src, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := src.Bounds()
	out := image.NewGray(b)
	lum := func(x, y int) uint32 {
		r, g, bl, _ := src.At(x, y).RGBA()
		return (299*r + 587*g + 114*bl) / 1000 >> 8
	}
	bg := uint8(lum(b.Min.X, b.Min.Y))
	for i := range out.Pix {
		out.Pix[i] = bg
	}
	w, h := b.Dx()/scale, b.Dy()/scale
	ox, oy := (b.Dx()-w)/2, (b.Dy()-h)/2
	for y := range h {
		for x := range w {
			var sum uint32
			for dy := range scale {
				for dx := range scale {
					sum += lum(b.Min.X+x*scale+dx, b.Min.Y+y*scale+dy)
				}
			}
			out.Pix[(oy+y)*out.Stride+ox+x] = uint8(sum / uint32(scale*scale))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
