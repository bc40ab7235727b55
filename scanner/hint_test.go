package scanner

import (
	"math/rand/v2"
	"testing"

	"github.com/kioskd/kioskd/scanner/internal/synth"
)

// TestDecodeHint: what a frame without a read shows becomes a hint for the
// visitor; a read, and a scene with nothing code-like, give none.
func TestDecodeHint(t *testing.T) {
	tests := []struct {
		name  string
		scene synth.Scene
		dim   int // the frame's levels divided by this (an under-exposed camera)
		want  Hint
	}{
		{"read", synth.Scene{Text: testCode, Size: 220, Noise: 3, Seed: 1}, 0, HintNone},
		{"nothing there", synth.Scene{Noise: 3, Blur: 1, Seed: 2}, 0, HintNone},
		{"dark scene", synth.Scene{Text: testCode, Size: 220, Noise: 2, Blur: 1, Seed: 3}, 12, HintTooDark},
		// 50 pixels: the grid pass reads 54 (modules of 1.6 pixels).
		{"far away", synth.Scene{Text: testCode, Size: 50, Noise: 2, Seed: 4}, 0, HintTooFar},
		{"blurred", synth.Scene{Text: testCode, Size: 300, Blur: 4, Noise: 3, Seed: 5}, 0, HintBlurred},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(DecoderOptions{})
			img := render(t, tt.scene)
			if tt.dim > 0 {
				// Dimmed, then the camera's gain brings its noise back.
				rng := rand.New(rand.NewPCG(7, 7))
				for i, v := range img.Pix {
					img.Pix[i] = uint8(min(max(float64(v)/float64(tt.dim)+rng.NormFloat64()*6, 0), 255))
				}
			}
			f := grayFrame(img)
			f.Seq = 1
			_, ok := d.Decode(f)
			if got := d.Hint(); got != tt.want {
				t.Errorf("Hint() = %v (%q), want %v (%q); read %v", uint8(got), got, uint8(tt.want), tt.want, ok)
			}
			if tt.want != HintNone && ok {
				t.Errorf("the frame was read: it does not test the hint")
			}
			if tt.want != HintNone && tt.want.String() == "" {
				t.Errorf("hint %d has no words", tt.want)
			}
		})
	}
}
