package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeNoisyFrames: `kioskd decode` on frames of a cheap camera in a
// dim venue (testdata/noisy, see its README) reads the code through the
// sensor noise, and reads nothing in the empty frame. Before the scanner
// smoothed noisy frames (issue 16) the code frame was not read (tried: the
// binary built from main at efbc81d prints 0 for it).
func TestDecodeNoisyFrames(t *testing.T) {
	e := newEnv(t, "")
	dir, err := filepath.Abs("testdata/noisy")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := e.kioskd("decode", "-repeat", "2", dir)
	if code != exitOK {
		t.Fatalf("decode: exit %d %q", code, errOut)
	}
	want := map[string]string{
		"lowlight-code.png":  "d46e64564d9d27f20dcd089ca273ee71a7c55ab6059833ad20769ee9cc8615e2",
		"lowlight-empty.png": "",
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
