package scanner

import (
	"math/rand/v2"
	"testing"
)

// TestBox3 compares the SWAR binomial filter with the plain sum, edges
// repeated, on widths around its 8-pixel words.
func TestBox3(t *testing.T) {
	for _, w := range []int{1, 5, 8, 9, 16, 17, 23, 24, 25, 31, 640} {
		for _, h := range []int{1, 2, 7} {
			checkBox3(t, w, h, uint64(w*10+h))
		}
	}
}

func checkBox3(t *testing.T, w, h int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	stride := w + int(seed%3) // padded rows too
	p := plane{y: make([]byte, (h-1)*stride+w), w: w, h: h, stride: stride}
	for i := range p.y {
		p.y[i] = byte(rng.IntN(256))
	}
	var buf []byte
	q := box3(p, &buf)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					s += (2 - dx*dx) * (2 - dy*dy) * int(p.y[min(max(y+dy, 0), h-1)*stride+min(max(x+dx, 0), w-1)])
				}
			}
			if got := int(q.y[y*q.stride+x]); got != s>>4 {
				t.Fatalf("%dx%d at (%d,%d): %d, want %d", w, h, x, y, got, s>>4)
			}
		}
	}
}

// FuzzBox3: any plane is filtered exactly as the plain sum says.
func FuzzBox3(f *testing.F) {
	f.Add(uint8(17), uint8(3), uint64(1))
	f.Fuzz(func(t *testing.T, w, h uint8, seed uint64) {
		if w == 0 || h == 0 {
			return
		}
		checkBox3(t, int(w), int(h), seed)
	})
}

// TestNoiseFloorSeparatesNoise: the quiet-block contrast of a flat frame
// grows with its noise, and the floor it gives sits above what noise-only
// blocks show (so a noisy wall binarizes flat) and below a dim code's
// contrast of 85.
func TestNoiseFloorSeparatesNoise(t *testing.T) {
	for _, sigma := range []float64{2, 4, 8, 16} {
		rng := rand.New(rand.NewPCG(uint64(sigma), 2))
		const w, h = 320, 240
		p := plane{y: make([]byte, w*h), w: w, h: h, stride: w}
		for i := range p.y {
			p.y[i] = byte(min(max(128+rng.NormFloat64()*sigma, 0), 255))
		}
		var b binImage
		q := b.quietRange(p)
		if q < int(3*sigma) || q > int(7*sigma)+2 {
			t.Errorf("σ %v: quiet range %d, want about 4.8σ", sigma, q)
		}
		var buf []byte
		b.binarize(box3(p, &buf), minRange, true)
		if dark, light := b.finderHits(); dark+light != 0 || b.ncand != [2]int{} {
			t.Errorf("σ %v: a smoothed noisy wall shows finder-like places %v", sigma, b.ncand)
		}
		if f := noiseFloor(b.noise); f >= 85 {
			t.Errorf("σ %v: floor %d would make a dim code's blocks flat", sigma, f)
		}
	}
}
