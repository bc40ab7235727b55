package main

import (
	"testing"
)

// TestDecodeGridFrames: `kioskd decode` reads camera frames whose codes
// gozxing's own reads miss (rolling-shutter skew with smear, sigma 15 noise
// at a steep tilt, a dark-mode code) through the scanner's grid pass
// (scanner/grid.go), and nothing in an empty frame of the same kind. The
// binary built from main before the grid pass (b0d188b) read one of the
// four codes (rolling:8, by its unsharp-mask pass) and printed 0 for the
// other three (tried).
func TestDecodeGridFrames(t *testing.T) {
	e := newEnv(t, "")
	dir := t.TempDir()
	want := noisyFrames(t, dir, "rolling:8", "rolling:20", "webcam:4", "webcam:21", "rolling:9:nocode")
	out, errOut, code := e.kioskd("decode", dir)
	if code != exitOK {
		t.Fatalf("decode: exit %d %q", code, errOut)
	}
	checkDecoded(t, out, want)
}
