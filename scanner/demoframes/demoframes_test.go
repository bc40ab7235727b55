package demoframes_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/scanner/demoframes"
)

func TestFramesDecode(t *testing.T) {
	frames, err := demoframes.Frames()
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 6 {
		t.Fatalf("%d frames", len(frames))
	}
	d := scanner.NewDecoder(scanner.DecoderOptions{})
	for _, f := range frames {
		if b := f.Image.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
			t.Errorf("%s: %v", f.Name, b)
		}
		got, ok := scanner.DecodeImage(d, f.Image)
		if f.Text == "" {
			if ok {
				t.Errorf("%s: decoded %q from the frame without a code", f.Name, got)
			}
			continue
		}
		if !ok || got != f.Text {
			t.Errorf("%s: decoded %q, %v; want %q", f.Name, got, ok, f.Text)
		}
	}
}

func TestCodes(t *testing.T) {
	a, b, c := demoframes.Codes()
	for _, code := range []string{a, b, c} {
		if got, err := scanner.ParsePayload(code); err != nil || got != code {
			t.Errorf("demo code %q is not a normalized kiosk code: %v", code, err)
		}
	}
	if _, err := scanner.ParsePayload(demoframes.URL); err == nil {
		t.Error("the URL frame's text parses as a code")
	}
	known := demoframes.Known()
	if len(known) != 2 || known[0] != a || known[1] != c {
		t.Errorf("Known() = %v", known)
	}
}

// TestCopiesMatch keeps scanner/testdata/demo identical to the embedded set.
func TestCopiesMatch(t *testing.T) {
	for _, f := range demoframes.List() {
		emb, err := fs.ReadFile(demoframes.FS(), f.Name)
		if err != nil {
			t.Fatal(err)
		}
		disk, err := os.ReadFile(filepath.Join("..", "testdata", "demo", f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(emb, disk) {
			t.Errorf("%s differs between demoframes/frames and testdata/demo: rerun genframes", f.Name)
		}
	}
}
