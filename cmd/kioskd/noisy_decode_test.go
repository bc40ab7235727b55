package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// noisyFrames generates the frames of TestDecodeNoisyFrames with the
// project's camera model (scanner/internal/synth, which cmd/kioskd may not
// import) through `go run ./scanner/internal/genframes -shots`: frames a
// deterministic generator makes are made by the test, not committed. Each
// file is named condition-kind-seed.pgm; it returns file name → expected
// text ("" for a frame without a code), as genframes prints it.
func noisyFrames(t *testing.T, dir string, specs ...string) map[string]string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", "github.com/kioskd/kioskd/scanner/internal/genframes", "-shots", dir}, specs...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("genframes: %v\n%s", err, errText(err))
	}
	want := map[string]string{}
	for l := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		name, text, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("genframes printed %q", l)
		}
		want[name] = text
	}
	if len(want) != len(specs) {
		t.Fatalf("genframes made %d frames for %d: %s", len(want), len(specs), out)
	}
	return want
}

func errText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestDecodeNoisyFrames: `kioskd decode` on frames of a cheap camera in a
// dim venue reads the code through the sensor noise, and reads nothing in
// the empty frame. Before the scanner smoothed noisy frames (issue 16) the
// code frame was not read (tried: the binary built from main at efbc81d
// prints 0 for it).
func TestDecodeNoisyFrames(t *testing.T) {
	e := newEnv(t, "")
	dir := t.TempDir()
	want := noisyFrames(t, dir, "lowlight:7009", "lowlight:7001:nocode")
	if want["lowlight-code-7009.pgm"] != "d46e64564d9d27f20dcd089ca273ee71a7c55ab6059833ad20769ee9cc8615e2" {
		// The camera model changed: the seed now draws another frame, which
		// this test has not been shown to read.
		t.Fatalf("genframes drew %q for lowlight:7009; update the seed or the text", want["lowlight-code-7009.pgm"])
	}
	out, errOut, code := e.kioskd("decode", "-repeat", "2", dir)
	if code != exitOK {
		t.Fatalf("decode: exit %d %q", code, errOut)
	}
	checkDecoded(t, out, want)
}

// checkDecoded checks `kioskd decode`'s TSV output (file, read, ms, text):
// one line per frame of want (file name -> text, "" for no code), each
// read exactly as wanted.
func checkDecoded(t *testing.T, out string, want map[string]string) {
	t.Helper()
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
