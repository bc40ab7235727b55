package main

import (
	"path/filepath"
	"strings"
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
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("decode printed %d lines for %d frames:\n%s", len(lines), len(want), out)
	}
	for _, l := range lines {
		cols := strings.Split(l, "\t")
		if len(cols) != 4 {
			t.Fatalf("line %q: want 4 TSV columns", l)
		}
		text, ok := want[filepath.Base(cols[0])]
		if !ok {
			t.Fatalf("line %q: unknown file", l)
		}
		wantOK := "1"
		if text == "" {
			wantOK = "0"
		}
		if cols[1] != wantOK || cols[3] != text {
			t.Errorf("%s: read %s %q, want %s %q", filepath.Base(cols[0]), cols[1], cols[3], wantOK, text)
		}
	}
}
