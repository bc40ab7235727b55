package scanner

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/scanner/internal/synth"
)

// TestEmptyFrameSkipsHalf: a clean frame where nothing looks like a code
// (the camera corpus's empty MJPEG frames, not smoothed) runs no
// half-resolution pass, as a still or on a stream's even frame: it cost
// such a frame about half its time and read nothing (see moreReads).
// Failed before: the half pass ran on stills and on even stream frames.
func TestEmptyFrameSkipsHalf(t *testing.T) {
	n := 0
	for _, e := range readCameraManifest(t) {
		if e.Condition != synth.MJPEG || e.Shot.Text != "" {
			continue
		}
		img, err := e.Shot.Render()
		if err != nil {
			t.Fatal(err)
		}
		for _, seq := range []uint64{0, 2} {
			d := NewDecoder(DecoderOptions{})
			f := grayFrame(img)
			f.Seq = seq
			if _, ok := d.Decode(f); ok {
				t.Fatalf("%s: false read", e.File)
			}
			if d.noisy || d.Stats().Gated != 0 {
				continue // not the case under test
			}
			n++
			if d.half.w != 0 {
				t.Errorf("%s seq %d: half-resolution pass ran on a frame where nothing looked like a code", e.File, seq)
			}
		}
	}
	if n == 0 {
		t.Fatal("no clean ungated empty frame in the corpus: the test tests nothing")
	}
}

// TestLargeModulesRead: codes with modules of 4 to 16 pixels, up to the
// frame's height, clean and with sensor noise, are read as stills and on
// stream frames of either parity without the half-resolution pass of a
// frame that did not pass the gate (the grid pass reads large modules).
func TestLargeModulesRead(t *testing.T) {
	const w, h = 640, 480
	for _, tc := range []struct {
		text     string
		noise    float64
		maxPitch int
	}{
		{strings.Repeat("ab", 2), 0, 16},  // version 1: 21 modules, 464 px at 16
		{strings.Repeat("ab", 2), 12, 14}, // σ 12 (smoothed); 16 px reads in neither version
		{strings.Repeat("ab", 32), 0, 10}, // version 4: 33 modules
		{strings.Repeat("ab", 32), 6, 10},
	} {
		m, err := synth.Encode(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		n := m.GetWidth()
		for pitch := 4; pitch <= tc.maxPitch; pitch += 2 {
			y := make([]byte, w*h)
			rng := rand.New(rand.NewPCG(uint64(pitch), 1))
			ox, oy := (w-n*pitch)/2, (h-n*pitch)/2
			for py := range h {
				for px := range w {
					v := 200.0
					mx, my := (px-ox)/pitch, (py-oy)/pitch
					if px >= ox && py >= oy && mx < n && my < n && m.Get(mx, my) {
						v = 40
					}
					v += rng.NormFloat64() * tc.noise
					y[py*w+px] = byte(min(max(v, 0), 255))
				}
			}
			for _, seq := range []uint64{0, 1, 2} {
				name := fmt.Sprintf("%d modules of %d px, σ %g, seq %d", n, pitch, tc.noise, seq)
				d := NewDecoder(DecoderOptions{})
				got, ok := d.Decode(Frame{Y: y, Width: w, Height: h, Stride: w, Seq: seq})
				if !ok || got != tc.text {
					t.Errorf("%s: not read", name)
				}
			}
		}
	}
}
