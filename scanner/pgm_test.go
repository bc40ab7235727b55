package scanner

import (
	"bytes"
	"image"
	"testing"
)

func TestPGMRoundTrip(t *testing.T) {
	f := Frame{Y: []byte{0, 1, 2, 3, 4, 5, 99, 99, 6, 7, 8, 9, 10, 11, 99, 99}, Width: 6, Height: 2, Stride: 8}
	var buf bytes.Buffer
	if err := EncodePGM(&buf, f); err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(&buf)
	if err != nil || format != "pgm" {
		t.Fatalf("image.Decode: %v, format %q", err, format)
	}
	g := img.(*image.Gray)
	want := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if !bytes.Equal(g.Pix, want) || g.Rect.Dx() != 6 || g.Rect.Dy() != 2 {
		t.Fatalf("got %v %v", g.Rect, g.Pix)
	}
}

func TestPGMVariants(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []byte // nil = error
	}{
		{"comments", "P5 # c\n2 # w\n1\n255\n\x10\x20", []byte{0x10, 0x20}},
		{"maxval 15", "P5\n2 1\n15\n\x0f\x00", []byte{255, 0}},
		{"16-bit", "P5\n2 1\n65535\n\xff\xff\x80\x00", []byte{255, 127}},
		{"short", "P5\n2 2\n255\n\x01", nil},
		{"ascii pgm", "P2\n1 1\n255\n7\n", nil},
		{"zero size", "P5\n0 1\n255\n", nil},
		{"huge", "P5\n100000 100000\n255\n", nil},
		{"maxval 0", "P5\n1 1\n0\n\x00", nil},
		{"no separator", "P5\n1 1\n255", nil},
		{"bad number", "P5\nx 1\n255\n\x00", nil},
	}
	for _, tt := range tests {
		img, err := DecodePGM(bytes.NewReader([]byte(tt.in)))
		if tt.want == nil {
			if err == nil {
				t.Errorf("%s: no error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if g := img.(*image.Gray); !bytes.Equal(g.Pix, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, g.Pix, tt.want)
		}
	}
}

func FuzzDecodePGM(f *testing.F) {
	f.Add([]byte("P5\n2 1\n255\n\x10\x20"))
	f.Add([]byte("P5 # c\n2 # w\n1\n65535\n\x10\x20\x30\x40"))
	f.Add([]byte("P5\n1 1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg, cerr := DecodePGMConfig(bytes.NewReader(in))
		img, err := DecodePGM(bytes.NewReader(in))
		if err != nil {
			return
		}
		if cerr != nil {
			t.Fatalf("image decoded but its header did not: %v", cerr)
		}
		b := img.Bounds()
		g := img.(*image.Gray)
		if b.Dx() != cfg.Width || b.Dy() != cfg.Height || len(g.Pix) != b.Dx()*b.Dy() {
			t.Fatalf("size %v, header %dx%d, %d samples", b, cfg.Width, cfg.Height, len(g.Pix))
		}
		// Whatever decodes must be safe to hand to the decoder.
		NewDecoder(DecoderOptions{}).Decode(FrameFromImage(img, nil))
	})
}
