package synth

import (
	"bytes"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func TestDrawDeterministic(t *testing.T) {
	for _, c := range Conditions() {
		a, err := Draw(c, 7, false)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Draw(c, 7, false)
		if a != b {
			t.Fatalf("%s: two draws of seed 7 differ:\n%s\n%s", c, a.Params(), b.Params())
		}
		other, _ := Draw(c, 8, false)
		if other == a {
			t.Fatalf("%s: seeds 7 and 8 draw the same shot", c)
		}
		empty, _ := Draw(c, 7, true)
		if empty.Text != "" || empty.Params() != a.Params() {
			t.Fatalf("%s: the no-code draw of seed 7 is not the same scene without the code", c)
		}
		if testing.Short() && c != Webcam {
			continue
		}
		ia, err := a.Render()
		if err != nil {
			t.Fatal(err)
		}
		ib, _ := b.Render()
		if !bytes.Equal(ia.Pix, ib.Pix) {
			t.Fatalf("%s: two renders of one shot differ", c)
		}
	}
}

func TestParamsRoundTrip(t *testing.T) {
	for _, c := range Conditions() {
		for seed := uint64(1); seed < 50; seed++ {
			s, err := Draw(c, seed, seed%5 == 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseParams(s.Params(), s.Text, s.Seed)
			if err != nil {
				t.Fatalf("%s/%d: %v", c, seed, err)
			}
			if got != s {
				t.Fatalf("%s/%d: round trip changed the shot:\n%s\n%s", c, seed, s.Params(), got.Params())
			}
		}
	}
}

// TestDrawRanges checks that each condition draws what tracker issue 16
// describes, over many seeds.
func TestDrawRanges(t *testing.T) {
	const n = 700
	in := func(v, lo, hi float64) bool { return v >= lo && v <= hi }
	for _, c := range Conditions() {
		dark := 0
		for seed := uint64(1); seed <= n; seed++ {
			s, _ := Draw(c, seed, false)
			fail := func(what string) { t.Fatalf("%s/%d: %s: %s", c, seed, what, s.Params()) }
			size := s.Size / float64(s.H)
			switch {
			case c == Small720p && (s.W != 1280 || s.H != 720 || !in(size, 0.12-1e-9, 0.24+1e-9)):
				fail("want 1280x720 with the code at 12-24 % of the height")
			case c != Small720p && (s.W != 640 || s.H != 480 || !in(size, 0.22-1e-9, 0.72+1e-9)):
				fail("want 640x480 with the code at 22-72 % of the height")
			case !in(s.Pitch, -30, 30) || !in(s.Yaw, -30, 30):
				fail("tilt beyond ±30°")
			case !in(s.Defocus, 0.4, 1.3):
				fail("defocus not mild")
			case s.Text == "" || !strings.Contains(strings.ToLower(s.Text), "") || len(s.Text) < 64:
				fail("no kiosk code")
			case s.Shade == 0 || s.Gradient == 0:
				fail("no shading or uneven light")
			}
			if s.Invert {
				dark++
			}
			switch c {
			case Webcam:
				if !in(s.Noise, 4, 16) {
					fail("read noise outside σ 4-16")
				}
			case Motion:
				if !in(s.Smear, 1, 6) {
					fail("smear outside 1-6 px")
				}
			case LowLight:
				if !in(s.Dark, 25, 85) || !in(s.Light, 170, 240) || s.Well == 0 {
					fail("not a low exposure")
				}
				// Noise grows as the exposure (the electron count) drops.
				if s.Noise*s.Well < 2376 || s.Noise*s.Well > 2424 {
					fail("read noise not amplified by the gain")
				}
			case MJPEG:
				if s.JPEG < 12 || s.JPEG > 40 {
					fail("JPEG quality outside 12-40")
				}
			case Moire:
				if !in(s.Screen, 0.6, 2.2) {
					fail("no screen")
				}
			case Rolling:
				if !in(math.Abs(s.Skew), 0.05, 0.35) {
					fail("no rolling-shutter skew")
				}
			}
		}
		// Dark mode one in seven (one in four on screens): within 4σ.
		p := 1.0 / 7
		if c == Moire {
			p = 0.25
		}
		if sd := math.Sqrt(n * p * (1 - p)); math.Abs(float64(dark)-n*p) > 4*sd {
			t.Errorf("%s: %d of %d dark-mode codes, want about %.0f", c, dark, n, n*p)
		}
	}
}

// clean is a shot with every effect off: the code as drawn.
func clean(text string) Shot {
	return Shot{W: 640, H: 480, Text: text, Size: 240, CX: 320, CY: 240, Dark: 40, Light: 200, Seed: 1}
}

const code = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func render(t *testing.T, s Shot) *image.Gray {
	t.Helper()
	img, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func gozxingRead(img *image.Gray) (string, bool) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", false
	}
	r, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return "", false
	}
	return r.GetText(), true
}

// TestGeometry: the pose, perspective and skew keep the code a QR code
// with its text (plain gozxing reads it when nothing else troubles it).
func TestGeometry(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Shot)
	}{
		{"facing", func(*Shot) {}},
		{"rolled", func(s *Shot) { s.Roll = 140 }},
		{"pitched", func(s *Shot) { s.Pitch = 30 }},
		{"yawed", func(s *Shot) { s.Yaw = -30; s.Roll = 20 }},
		{"skewed", func(s *Shot) { s.Skew = 0.3 }},
		{"url", func(s *Shot) { s.Text = "https://tickets.example.org/c?code=" + code }},
		{"upper case", func(s *Shot) { s.Text = strings.ToUpper(code) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := clean(code)
			tc.mod(&s)
			got, ok := gozxingRead(render(t, s))
			if !ok || got != s.Text {
				t.Fatalf("decoded %q, %v; want %q", got, ok, s.Text)
			}
		})
	}
	// Perspective: pitching the code shrinks its far edge.
	s := clean(code)
	s.Pitch = 30
	q := s.quad()
	top, bottom := q[1][0]-q[0][0], q[2][0]-q[3][0]
	if max(top, bottom) < 1.1*min(top, bottom) {
		t.Fatalf("pitched 30°: top edge %.1f px, bottom %.1f: no perspective", top, bottom)
	}
	// Skew: rows below the code's centre move one way, rows above the
	// other, Skew pixels per row.
	s = clean(code)
	plain := render(t, s)
	s.Skew = 0.3
	skewed := render(t, s)
	for _, y := range []int{170, 310} {
		want := 0.3 * (float64(y) + 0.5 - s.CY)
		if got := rowShift(plain, skewed, y); math.Abs(float64(got)-want) > 2 {
			t.Errorf("skew 0.3 px/row: row %d moved %d px, want %.0f", y, got, want)
		}
	}
}

// rowShift is how far row y of b is moved sideways against a: the shift
// with the least absolute difference over the frame's middle.
func rowShift(a, b *image.Gray, y int) int {
	best, arg := math.Inf(1), 0
	for d := -50; d <= 50; d++ {
		sad := 0.0
		for x := 150; x < 490; x++ {
			sad += math.Abs(float64(a.Pix[y*a.Stride+x]) - float64(b.Pix[y*b.Stride+x+d]))
		}
		if sad < best {
			best, arg = sad, d
		}
	}
	return arg
}

// TestLevels: with the light's variation off, Dark and Light are the
// levels of the modules, and Invert swaps them.
func TestLevels(t *testing.T) {
	for _, inv := range []bool{false, true} {
		s := clean(code)
		s.Dark, s.Light, s.Invert = 31, 227, inv
		img := render(t, s)
		lo, hi := 255, 0
		for y := 200; y < 280; y++ {
			for x := 280; x < 360; x++ {
				v := int(img.Pix[y*img.Stride+x])
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		if lo != 31 || hi != 227 {
			t.Errorf("invert %v: levels %d..%d in the code, want 31..227", inv, lo, hi)
		}
		// The top-left finder's corner module: dark, or light in dark mode.
		m, err := Encode(code)
		if err != nil {
			t.Fatal(err)
		}
		at := 4.5 * 240 / float64(m.GetWidth()) // module (4, 4), the finder's corner
		corner := img.Pix[int(120+at)*img.Stride+int(200+at)]
		if (corner < 128) == inv {
			t.Errorf("invert %v: finder corner at level %d", inv, corner)
		}
	}
}

// noiseOf is the standard deviation of the difference between s rendered
// as is and without read and shot noise (the same seed draws the same
// scene first, so the difference is the noise alone).
func noiseOf(t *testing.T, s Shot) float64 {
	t.Helper()
	a := render(t, s)
	s.Noise, s.Well = 0, 0
	b := render(t, s)
	var sum, sum2, n float64
	for i := range a.Pix {
		if b.Pix[i] < 10 || b.Pix[i] > 245 {
			continue // clipped
		}
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		sum, sum2, n = sum+d, sum2+d*d, n+1
	}
	m := sum / n
	return math.Sqrt(sum2/n - m*m)
}

func TestNoise(t *testing.T) {
	for _, sigma := range []float64{4, 16} {
		s := clean("")
		s.Noise = sigma
		if got := noiseOf(t, s); math.Abs(got-sigma)/sigma > 0.05 {
			t.Errorf("read noise σ %v: measured %.2f", sigma, got)
		}
	}
	// Shot noise: a tenth of the exposure (a tenth of the electrons) is
	// √10 times the noise.
	s := clean("")
	s.Well = 2000
	full := noiseOf(t, s)
	s.Well = 200
	low := noiseOf(t, s)
	if r := low / full; r < 2.9 || r > 3.4 {
		t.Errorf("shot noise at 2000 e⁻ %.2f, at 200 e⁻ %.2f: ratio %.2f, want √10", full, low, r)
	}
}

// sharpness is the mean squared horizontal and vertical step between
// neighbours in the frame's centre (squared: a blurred edge spreads the
// same total step over more pixels).
func sharpness(img *image.Gray) (h, v float64) {
	n := 0.0
	for y := 150; y < 330; y++ {
		for x := 230; x < 410; x++ {
			p := float64(img.Pix[y*img.Stride+x])
			dh, dv := p-float64(img.Pix[y*img.Stride+x+1]), p-float64(img.Pix[(y+1)*img.Stride+x])
			h, v = h+dh*dh, v+dv*dv
			n++
		}
	}
	return h / n, v / n
}

func TestBlurs(t *testing.T) {
	base := clean(code)
	h0, v0 := sharpness(render(t, base))
	s := base
	s.Defocus = 1.2
	if h, v := sharpness(render(t, s)); h > 0.6*h0 || v > 0.6*v0 {
		t.Errorf("defocus 1.2: steps %.1f/%.1f against %.1f/%.1f sharp", h, v, h0, v0)
	}
	// A horizontal smear softens horizontal steps far more than vertical
	// ones.
	s = base
	s.Smear, s.SmearAngle = 6, 0
	if h, v := sharpness(render(t, s)); h > 0.4*h0 || v/v0 < 2*h/h0 {
		t.Errorf("horizontal smear 6 px: steps %.1f/%.1f against %.1f/%.1f sharp", h, v, h0, v0)
	}
}

func TestJPEGBlocks(t *testing.T) {
	s := clean(code)
	s.Noise, s.Roll = 6, 20
	s.JPEG = 15
	img := render(t, s)
	// Steps across 8×8 block edges outweigh those inside blocks.
	var edge, inner, ne, ni float64
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 1; x < img.Rect.Dx(); x++ {
			d := math.Abs(float64(img.Pix[y*img.Stride+x]) - float64(img.Pix[y*img.Stride+x-1]))
			if x%8 == 0 {
				edge, ne = edge+d, ne+1
			} else {
				inner, ni = inner+d, ni+1
			}
		}
	}
	if r := (edge / ne) / (inner / ni); r < 1.2 {
		t.Errorf("quality 15: block-edge steps only %.2f× the inner ones", r)
	}
}

// TestMoire: a code on a screen carries the screen's grid, whose beat with
// the sensor's shows as slow variation over the light modules.
func TestMoire(t *testing.T) {
	s := clean(code)
	s.Roll = 7
	printed := render(t, s)
	s.Screen = 1.1
	screen := render(t, s)
	spread := func(img *image.Gray) float64 {
		var sum, sum2, n float64
		for y := 150; y < 330; y++ {
			for x := 230; x < 410; x++ {
				if v := float64(img.Pix[y*img.Stride+x]); v > 120 {
					sum, sum2, n = sum+v, sum2+v*v, n+1
				}
			}
		}
		m := sum / n
		return math.Sqrt(sum2/n - m*m)
	}
	if p, m := spread(printed), spread(screen); m < p+10 {
		t.Errorf("light modules' spread: printed %.1f, on a screen %.1f: no moiré", p, m)
	}
}

func TestGlare(t *testing.T) {
	s := clean(code)
	s.Shade, s.Gradient = 0, 0
	base := render(t, s)
	s.Glare, s.GlareAmp = 3, 140
	glared := render(t, s)
	brighter := 0
	for i := range base.Pix {
		if int(glared.Pix[i]) > int(base.Pix[i])+40 {
			brighter++
		}
	}
	if brighter < 200 {
		t.Errorf("3 glare spots brightened %d pixels by 40 levels", brighter)
	}
}

func TestShading(t *testing.T) {
	s := clean("")
	s.Gradient, s.GradAngle = 0.6, 0 // light from the left
	img := render(t, s)
	mean := func(x0, x1 int) float64 {
		sum, n := 0.0, 0.0
		for y := 0; y < img.Rect.Dy(); y++ {
			for x := x0; x < x1; x++ {
				sum, n = sum+float64(img.Pix[y*img.Stride+x]), n+1
			}
		}
		return sum / n
	}
	if l, r := mean(0, 100), mean(540, 640); r > 0.7*l {
		t.Errorf("gradient 0.6 from the left: left %.0f, right %.0f", l, r)
	}
}

func TestRenderRejects(t *testing.T) {
	for _, s := range []Shot{{W: 0, H: 480}, {W: 640, H: 9000}, {W: 640, H: 480, Text: strings.Repeat("x", 5000), Size: 200}} {
		if _, err := s.Render(); err == nil {
			t.Errorf("%dx%d, %d-byte text: no error", s.W, s.H, len(s.Text))
		}
	}
}
