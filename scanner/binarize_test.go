package scanner

import (
	"math/rand/v2"
	"testing"
)

// checkRowStats compares blockStats (SWAR or assembly, all blocks of a
// block row) with pixelStats (one pixel at a time) on every block of p,
// the last partial block column included.
func checkRowStats(t *testing.T, name string, p plane) {
	t.Helper()
	var b binImage
	b.resize(p.w, p.h)
	for by := 0; by < b.bh; by++ {
		y0 := min(by*blockSize, p.h-blockSize)
		blockStats(p.y[y0*p.stride:], p.stride, p.w, b.ssum, b.slo, b.shi)
		for bx := 0; bx < b.bw; bx++ {
			x0 := min(bx*blockSize, p.w-blockSize)
			s, lo, hi := int(b.ssum[bx]), int(b.slo[bx]), int(b.shi[bx])
			ws, wlo, whi := pixelStats(p, x0, x0+blockSize, y0, y0+blockSize)
			if s != ws || lo != wlo || hi != whi {
				t.Fatalf("%s, block (%d,%d): sum/min/max = %d %d %d, want %d %d %d", name, bx, by, s, lo, hi, ws, wlo, whi)
			}
		}
	}
}

// The SWAR block statistics agree with the plain ones, extremes included:
// all 0, all 255, one odd pixel in an even or an odd lane, a width that is
// not a multiple of the block size.
func TestBlockRowStats(t *testing.T) {
	const w, h = 29, 19
	fill := func(f func(x, y int) byte) plane {
		y := make([]byte, w*h)
		for i := range y {
			y[i] = f(i%w, i/w)
		}
		return plane{y: y, w: w, h: h, stride: w}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for name, p := range map[string]plane{
		"black":         fill(func(int, int) byte { return 0 }),
		"white":         fill(func(int, int) byte { return 255 }),
		"one dark, odd": fill(func(x, y int) byte { return byte(255 - 255*b2i(x == 13 && y == 4)) }),
		"one lit, even": fill(func(x, y int) byte { return byte(255 * b2i(x == 10 && y == 7)) }),
		"last column":   fill(func(x, y int) byte { return byte(200 - 190*b2i(x == w-1)) }),
		"ramp":          fill(func(x, y int) byte { return byte(8*x + y) }),
		"noise":         fill(func(int, int) byte { return byte(rng.IntN(256)) }),
	} {
		checkRowStats(t, name, p)
	}
	// Padded rows (a V4L2 stride), at the widths around whole blocks.
	for _, w := range []int{8, 9, 15, 16, 17, 641} {
		stride := w + 5
		p := plane{y: make([]byte, 20*stride), w: w, h: 20, stride: stride}
		for i := range p.y {
			p.y[i] = byte(rng.IntN(256))
		}
		checkRowStats(t, "padded", p)
	}
}

func FuzzBlockRowStats(f *testing.F) {
	f.Add(uint8(8), make([]byte, 64))
	f.Add(uint8(11), []byte("\xff\x00\x80\x7f\x01\xfe\x10\xef-the-rest-of-an-11x8-block-row-of-pixels-goes-here, and on!!"))
	f.Fuzz(func(t *testing.T, w uint8, px []byte) {
		if w < blockSize || len(px) < int(w)*blockSize {
			return
		}
		h := len(px) / int(w)
		checkRowStats(t, "fuzz", plane{y: px[:int(w)*h], w: int(w), h: h, stride: int(w)})
	})
}

// TestBusyThreshold: the busy-scene guard at camera sizes, where the
// products overflow a 32-bit int (Pi OS armhf): there it used to call real
// code photos busy and miss them, and pass periodic textures to gozxing.
func TestBusyThreshold(t *testing.T) {
	tests := []struct {
		w, h, over int
		want       bool
	}{
		{640, 480, 0, false},
		{640, 480, 3128, false}, // over 3× the densest real code photo (3,128 per megapixel): still not busy
		{640, 480, 6144, false}, // exactly 20,000 per megapixel
		{640, 480, 6145, true},
		{640, 480, 30720, true}, // a texture at ~100,000 per megapixel
		{1280, 720, 18432, false},
		{1280, 720, 18433, true},
		{1920, 1080, 41473, true},
		{181, 176, 637, false},
		{181, 176, 638, true},
	}
	for _, tt := range tests {
		b := &binImage{w: tt.w, h: tt.h}
		b.over[1] = tt.over
		if got := b.busy(1); got != tt.want {
			t.Errorf("%dx%d with %d places: busy %v, want %v", tt.w, tt.h, tt.over, got, tt.want)
		}
		if b.busy(0) {
			t.Errorf("%dx%d: the other polarity is busy", tt.w, tt.h)
		}
	}
}
