package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/scanner/internal/synth"
)

// TestCorpus: -corpus writes every manifest row as a PGM of exactly the
// pixels Render gives, named as in the manifest, with the manifest beside.
func TestCorpus(t *testing.T) {
	dir := t.TempDir()
	all, err := synth.Corpus(11, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	// A frame with a code, one without, one compressed: enough to show the
	// rows and the pixels match, and quick under emulation (test-arm).
	entries := []synth.Entry{all[0], all[1], all[6]}
	manifest := filepath.Join(dir, "m.tsv")
	var buf bytes.Buffer
	if err := synth.WriteManifest(&buf, "test", entries); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "corpus")
	var stdout bytes.Buffer
	if err := run([]string{"-corpus", out, "-manifest", manifest}, &stdout); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "3 frames") {
		t.Errorf("output %q, want it to count 3 frames", stdout.String())
	}
	for _, e := range entries {
		img, err := scanner.LoadImage(filepath.Join(out, e.File), 4096*4096)
		if err != nil {
			t.Fatal(err)
		}
		f := scanner.FrameFromImage(img, nil)
		want, err := e.Shot.Render()
		if err != nil {
			t.Fatal(err)
		}
		if f.Width != want.Rect.Dx() || f.Height != want.Rect.Dy() || !bytes.Equal(f.Y[:len(want.Pix)], want.Pix) {
			t.Fatalf("%s: the PGM is not the rendered frame", e.File)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(out, "m.tsv")); !bytes.Equal(got, buf.Bytes()) {
		t.Error("the manifest was not copied beside the frames")
	}
}

func TestCommittedManifestReads(t *testing.T) {
	f, err := os.Open("../../testdata/camera-corpus.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := synth.ReadManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 300 {
		t.Fatalf("%d frames, want at least 300", len(entries))
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-corpus", t.TempDir(), "-manifest", "/nonexistent/m.tsv"}, {"-bogus"}} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestShots: -shots writes each named frame as a PGM of exactly the pixels
// synth.Draw renders, named with its seed, and prints its expected text;
// malformed names are errors.
func TestShots(t *testing.T) {
	dir := t.TempDir()
	var stdout bytes.Buffer
	if err := run([]string{"-shots", dir, "lowlight:7009", "moire:3:nocode"}, &stdout); err != nil {
		t.Fatal(err)
	}
	code, err := synth.Draw(synth.LowLight, 7009, false)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := synth.Draw(synth.Moire, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := "lowlight-code-7009.pgm\t" + code.Text + "\nmoire-nocode-3.pgm\t\n"; stdout.String() != want {
		t.Errorf("printed %q, want %q", stdout.String(), want)
	}
	for name, shot := range map[string]synth.Shot{"lowlight-code-7009.pgm": code, "moire-nocode-3.pgm": empty} {
		img, err := scanner.LoadImage(filepath.Join(dir, name), 4096*4096)
		if err != nil {
			t.Fatal(err)
		}
		f := scanner.FrameFromImage(img, nil)
		want, err := shot.Render()
		if err != nil {
			t.Fatal(err)
		}
		if f.Width != want.Rect.Dx() || f.Height != want.Rect.Dy() || !bytes.Equal(f.Y[:len(want.Pix)], want.Pix) {
			t.Errorf("%s: the PGM is not the rendered frame", name)
		}
	}
	for _, args := range [][]string{
		{"-shots", dir},
		{"-shots", dir, "lowlight"},
		{"-shots", dir, "lowlight:x"},
		{"-shots", dir, "nosuch:1"},
		{"-shots", dir, "lowlight:1:empty"},
		{"lowlight:1"},
	} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
