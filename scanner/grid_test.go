package scanner

import (
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/kioskd/kioskd/scanner/internal/synth"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// gridShots are camera frames (scanner/internal/synth, rows of the camera
// corpus) whose codes gozxing's own reads miss, TRY_HARDER with either of
// its binarizers: rolling-shutter skew with smear, heavy sensor noise, a
// dark-mode code. Their finder patterns pass the gate.
var gridShots = []struct {
	name, params, text string
	seed               uint64
	pass               Pass // the decoder's pass that reads it
}{
	{
		"rolling skew -0.34, smear 2",
		"w=640 h=480 size=177.6 cx=229.74 cy=189.61 roll=-35.43 pitch=28.97 yaw=10.76 dark=57.7 light=218.72 invert=false screen=0 shade=0.4 gradient=0.47 gradangle=149.38 vignette=0.39 glare=0 glareamp=64.05 smear=2 smearangle=0 skew=-0.34 defocus=0.72 noise=2.71 well=0 jpeg=0",
		"85e73e7749ffbe140e0c4dc6e89cd69a9583eda62162694662be115d4f619076",
		synth.RenderSeed(synth.Rolling, 8),
		PassLocal,
	},
	{
		"rolling skew 0.32, smear 2.8, a URL",
		"w=640 h=480 size=283.2 cx=234.67 cy=322.37 roll=-69.05 pitch=13.18 yaw=-28.95 dark=15.92 light=215.58 invert=false screen=0 shade=0.48 gradient=0.52 gradangle=346.29 vignette=0.08 glare=1 glareamp=127.03 smear=2.84 smearangle=0 skew=0.32 defocus=0.88 noise=3.59 well=0 jpeg=0",
		"https://tickets.example.org/c?code=79a13406d261bbdd87c4c0f4d8cbfdbe84a9256e8c23a1cbafeff8efad60d8a5",
		synth.RenderSeed(synth.Rolling, 20),
		PassLocal,
	},
	{
		"webcam noise 15, tilted 33/-23/-28",
		"w=640 h=480 size=273.6 cx=406.6 cy=140.39 roll=33.4 pitch=-23.4 yaw=-27.79 dark=19.64 light=194.7 invert=false screen=0 shade=0.36 gradient=0.4 gradangle=316.32 vignette=0.19 glare=2 glareamp=120.63 smear=0 smearangle=0 skew=0 defocus=0.66 noise=15.37 well=0 jpeg=0",
		"2fa7d88257c8057b9d5062b7b35ec892447dec5310370d2f0c355e8a89e70b03",
		synth.RenderSeed(synth.Webcam, 4),
		PassGrid,
	},
	{
		"webcam dark mode, noise 10.7",
		"w=640 h=480 size=278.4 cx=346.84 cy=295.17 roll=-14.34 pitch=24.16 yaw=-16.81 dark=18.95 light=213.96 invert=true screen=0 shade=0.46 gradient=0.54 gradangle=143.36 vignette=0.17 glare=2 glareamp=75.27 smear=0 smearangle=0 skew=0 defocus=1.1 noise=10.67 well=0 jpeg=0",
		"6dd05062f3289395c74a2410f7f11262445d0bf271dce5d71b1c88c150af0372",
		synth.RenderSeed(synth.Webcam, 21),
		PassGrid,
	},
}

func renderGridShot(t testing.TB, i int) *image.Gray {
	t.Helper()
	c := gridShots[i]
	s, err := synth.ParseParams(c.params, c.text, c.seed)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// gozxingReads reports whether gozxing's QR reader, TRY_HARDER, reads img
// with its hybrid or its global-histogram binarizer, either polarity.
func gozxingReads(img *image.Gray) bool {
	src := gozxing.NewLuminanceSourceFromImage(img)
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	for _, s := range []gozxing.LuminanceSource{src, gozxing.NewInvertedLuminanceSource(src)} {
		for _, bz := range []gozxing.Binarizer{gozxing.NewHybridBinarizer(s), gozxing.NewGlobalHistgramBinarizer(s)} {
			bmp, err := gozxing.NewBinaryBitmap(bz)
			if err != nil {
				continue
			}
			if _, err := qrcode.NewQRCodeReader().Decode(bmp, hints); err == nil {
				return true
			}
		}
	}
	return false
}

// gridAlone runs the grid pass by itself on img as the decoder's first
// reads prepare it (smoothed when noisy, binarized, finder scan), on every
// triple it would try, both polarities, and reports the text it reads.
func gridAlone(img *image.Gray) (string, bool) {
	d := NewDecoder(DecoderOptions{})
	raw := plane{y: img.Pix, w: img.Rect.Dx(), h: img.Rect.Dy(), stride: img.Stride}
	p, smooth := raw, false
	if q := d.full.quietRange(raw); q >= noisyRange && q <= noisyMax {
		var buf []byte
		p, smooth = box3(raw, &buf), true
	}
	b := &d.full
	b.binarize(p, minRange, smooth)
	b.strict = smooth
	b.finderHits()
	for pol := range 2 {
		var best [gridTriples][3]cand
		for _, tr := range best[:b.bestTriples(pol, best[:])] {
			if text, _, ok := d.grid.read(p, raw, b, tr, pol == 1); ok {
				return text, true
			}
		}
	}
	return "", false
}

// TestGridPass: on skewed, noisy, dark-mode frames that gozxing's own reads
// miss, the grid pass by itself reads the code, and the decoder reads it,
// as a still and as a camera stream's frame (within the stream's read
// budget), by the pass the case names: the grid pass, or the window read
// on the gate's finder centres (readCentres), which came later and now
// reads two of them first.
func TestGridPass(t *testing.T) {
	for i, c := range gridShots {
		t.Run(c.name, func(t *testing.T) {
			img := renderGridShot(t, i)
			if gozxingReads(img) {
				t.Fatal("gozxing reads this frame by itself: not a case for the grid pass")
			}
			if text, ok := gridAlone(img); !ok || text != c.text {
				t.Errorf("the grid pass alone: %v %q, want the code", ok, text)
			}
			for _, seq := range []uint64{0, 1} {
				d := NewDecoder(DecoderOptions{})
				f := grayFrame(img)
				f.Seq = seq
				text, ok := d.Decode(f)
				if !ok || text != c.text {
					t.Fatalf("seq %d: decoded %v %q (pass %v), want the code", seq, ok, text, d.LastPass())
				}
				if d.LastPass() != c.pass {
					t.Errorf("seq %d: read by pass %v, want %v", seq, d.LastPass(), c.pass)
				}
				if got := d.Stats().Found[c.pass]; got != 1 {
					t.Errorf("seq %d: Found[%v] = %d, want 1", seq, c.pass, got)
				}
				// The region is remembered: the next frame tracks it.
				f.Seq = seq + 1
				if text, ok := d.Decode(f); !ok || text != c.text {
					t.Errorf("seq %d: the next frame: decoded %v, want the code", seq, ok)
				}
			}
		})
	}
}

// TestGridPassName: the pass has a name for statistics.
func TestGridPassName(t *testing.T) {
	if got := PassGrid.String(); got != "grid" {
		t.Errorf("PassGrid.String() = %q, want grid", got)
	}
}

// TestBestTriples: of a polarity's candidates, the triples laid out like a
// code's corners come best confirmed first (most rows at their weakest),
// and candidates that cannot be finder patterns never take part.
func TestBestTriples(t *testing.T) {
	var b binImage
	b.strict = true
	// A code's three finder patterns (well confirmed), a fourth place that
	// makes another plausible triple with two of them (fewer rows), and a
	// place seen on one row only (not counted on a strict scan).
	cs := []cand{
		{100, 100, 35, 12}, {300, 100, 35, 14}, {100, 300, 35, 13},
		{300, 300, 35, 4}, {200, 200, 35, 1},
	}
	copy(b.cands[0][:], cs)
	b.ncand[0] = len(cs)
	out := make([][3]cand, 8)
	n := b.bestTriples(0, out)
	if n != 4 {
		t.Fatalf("%d triples, want 4 (any three corners of the square)", n)
	}
	if out[0] != [3]cand{cs[0], cs[1], cs[2]} {
		t.Errorf("best triple %v, want the three well-confirmed patterns", out[0])
	}
	for _, tr := range out[:n] {
		for _, c := range tr {
			if c.rows < minRows {
				t.Errorf("triple %v holds a place seen on one row", tr)
			}
		}
	}
	if got := b.bestTriples(0, out[:1]); got != 1 || out[0] != [3]cand{cs[0], cs[1], cs[2]} {
		t.Errorf("with room for one: %d, %v", got, out[0])
	}
	if got := b.bestTriples(1, out); got != 0 {
		t.Errorf("no candidates of the other polarity, %d triples", got)
	}
}

// FuzzGridGeometry feeds the grid pass arbitrary finder triples on a real
// frame: it must neither panic nor read anything but the frame's code.
func FuzzGridGeometry(f *testing.F) {
	img := renderGridShot(f, 0)
	fr := grayFrame(img)
	p := plane{y: fr.Y, w: fr.Width, h: fr.Height, stride: fr.Stride}
	var b binImage
	b.binarize(p, minRange, false)
	b.finderHits()
	var best [1][3]cand
	if b.bestTriples(0, best[:]) == 1 {
		t := best[0]
		f.Add(t[0].x, t[0].y, t[0].size, t[1].x, t[1].y, t[1].size, t[2].x, t[2].y, t[2].size, false)
	}
	f.Add(0, 0, 7, 639, 0, 7, 0, 479, 7, false)
	f.Add(-5, 1000000, 0, 3, 3, -1, 3, 3, 1<<20, true)
	f.Add(10, 10, 300, 11, 10, 300, 10, 11, 300, true)
	var g grid
	want := gridShots[0].text
	f.Fuzz(func(t *testing.T, x0, y0, s0, x1, y1, s1, x2, y2, s2 int, inv bool) {
		tr := [3]cand{{x0, y0, s0, 3}, {x1, y1, s1, 3}, {x2, y2, s2, 3}}
		for i := range tr {
			// Candidates come from the frame's finder scan: inside it,
			// no larger than it.
			tr[i].x = min(max(tr[i].x, 0), p.w-1)
			tr[i].y = min(max(tr[i].y, 0), p.h-1)
			tr[i].size = min(max(tr[i].size, 7), p.w)
		}
		if text, _, ok := g.read(p, p, &b, tr, inv); ok && text != want {
			t.Errorf("triple %v read %q, not the frame's code", tr, text)
		}
	})
}

// BenchmarkGridPass times the grid pass alone on frames where it runs: two
// it reads (skewed; noisy) and one where every triple and version fails
// (the worst case of a gated frame: two triples, three versions each, with
// and without the alignment pattern).
func BenchmarkGridPass(b *testing.B) {
	miss, err := synth.Draw(synth.LowLight, 9, false)
	if err != nil {
		b.Fatal(err)
	}
	missImg, err := miss.Render()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		img  *image.Gray
		read bool
	}{
		{"read-rolling", renderGridShot(b, 0), true},
		{"read-noisy", renderGridShot(b, 2), true},
		{"miss-lowlight", missImg, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			fr := grayFrame(c.img)
			raw := plane{y: fr.Y, w: fr.Width, h: fr.Height, stride: fr.Stride}
			d := NewDecoder(DecoderOptions{})
			bin := &binImage{}
			p := raw
			q := bin.quietRange(raw)
			noisy := q >= noisyRange && q <= noisyMax
			if noisy {
				var buf []byte
				p = box3(raw, &buf)
			}
			bin.binarize(p, minRange, noisy)
			bin.strict = noisy
			dark, light := bin.finderHits()
			pols := [2]bool{dark >= gateMin, light >= gateMin}
			if _, ok := d.readGrid(p, raw, bin, pols, true); ok != c.read {
				b.Fatalf("read %v, want %v", ok, c.read)
			}
			// Process CPU time too: wall time on a shared machine is noise.
			c0, n := cpuTime(), 0
			for b.Loop() {
				n++
				d.readGrid(p, raw, bin, pols, true)
			}
			if c := cpuTime() - c0; c > 0 {
				b.ReportMetric(float64(c.Nanoseconds())/float64(n), "cpu-ns/op")
			}
		})
	}
}

// TestRightIsosceles: the gate's and the grid pass's test of a finder
// triple takes a right angle as rolling-shutter shear and perspective leave
// it (the corner leaning either way), and nothing that is not one. The
// obtuse and sheared rows failed before the bounds became angles (a 40 %
// tolerance on the hypotenuse² allowed 73°–132° only).
func TestRightIsosceles(t *testing.T) {
	// The corner at the origin, legs of lengths l1 and l2 at an angle deg
	// between them.
	tri := func(l1, l2, deg float64) (int, int, int) {
		r := deg * math.Pi / 180
		a, b := cand{x: 0, y: 0}, cand{x: int(math.Round(l1)), y: 0}
		c := cand{x: int(math.Round(l2 * math.Cos(r))), y: int(math.Round(l2 * math.Sin(r)))}
		return dist2(a, b), dist2(b, c), dist2(a, c)
	}
	for _, c := range []struct {
		name        string
		l1, l2, deg float64
		want        bool
	}{
		{"square", 200, 200, 90, true},
		{"legs 1.4:1", 280, 200, 90, true},
		{"sheared 0.36 (70°)", 200, 213, 70, true},
		{"leaning in, 68°", 200, 190, 68, true},
		{"tilted, 135°", 200, 180, 135, true},
		{"tilted hard, 150°", 200, 200, 150, true},
		{"equilateral (60°)", 200, 200, 60, false},
		{"leaning in, 63°", 200, 200, 63, false},
		{"flat, 158°", 200, 200, 158, false},
		{"collinear", 200, 200, 180, false},
		{"legs 1.6:1", 320, 200, 90, false},
	} {
		x, y, z := tri(c.l1, c.l2, c.deg)
		for _, p := range [][3]int{{x, y, z}, {z, x, y}, {y, z, x}} {
			if got := rightIsosceles(p[0], p[1], p[2]); got != c.want {
				t.Errorf("%s: rightIsosceles(%d, %d, %d) = %v, want %v", c.name, p[0], p[1], p[2], got, c.want)
			}
		}
	}
}

// TestBestTriplesSquarerFirst: of triples that tie on rows, the one whose
// corner is nearer a right angle comes first. With the corner's bounds as
// wide as rightIsosceles has them, a place on a code's timing row makes a
// leaning triple with two of its finders that is enumerated first; the
// code's own triple must not be pushed out of the ones the pass tries.
func TestBestTriplesSquarerFirst(t *testing.T) {
	var b binImage
	b.strict = true
	// A code's finders at (100,100), (300,100), (100,300), all on 5 rows;
	// a place at (200,40) makes a leaning triple with the first two (its
	// corner at about 117°), also at 5 rows at its weakest.
	cs := []cand{{100, 100, 35, 7}, {200, 40, 35, 5}, {300, 100, 35, 7}, {100, 300, 35, 5}}
	if !rightIsosceles(dist2(cs[0], cs[1]), dist2(cs[1], cs[2]), dist2(cs[0], cs[2])) {
		t.Fatal("the leaning triple does not pass rightIsosceles: no tie to break")
	}
	copy(b.cands[0][:], cs)
	b.ncand[0] = len(cs)
	out := make([][3]cand, 1)
	if n := b.bestTriples(0, out); n != 1 || out[0] != [3]cand{cs[0], cs[2], cs[3]} {
		t.Errorf("best triple %v, want the code's finders", out[0])
	}
}

// TestSquarerTripleRead: a dark-mode frame drawn from a fresh seed that
// the grid pass read while the gate's corner bounds were tight, and lost
// when they widened (a leaning triple, tied on rows, took its place among
// the two tried). It reads with ties broken by the squarer corner; it
// failed with the wide bounds alone.
func TestSquarerTripleRead(t *testing.T) {
	mustReadDrawn(t, synth.Motion, 4400027)
}

// mustReadDrawn draws the camera model's frame of cond and seed (with a
// code) and fails unless a still decoder reads its text.
func mustReadDrawn(t *testing.T, cond synth.Condition, seed uint64) {
	t.Helper()
	s, err := synth.Draw(cond, seed, false)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Render()
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(DecoderOptions{})
	if text, ok := d.Decode(grayFrame(img)); !ok || text != s.Text {
		t.Fatalf("decoded %v (pass %v), want the code; frame %s", ok, d.LastPass(), s.Params())
	}
}

// TestLeaningCornerRead: camera frames drawn from seeds outside the
// committed corpus (synth.Draw), tilted, skewed and smeared, that no pass
// read while the gate took a finder triple's corner at 73°–132° only. Both
// read with the bounds as angles (66°–154°); they failed before.
func TestLeaningCornerRead(t *testing.T) {
	for _, c := range []struct {
		cond synth.Condition
		seed uint64
	}{
		{synth.Rolling, 2200037},
		{synth.Small720p, 2200003},
	} {
		t.Run(fmt.Sprintf("%s-%d", c.cond, c.seed), func(t *testing.T) {
			mustReadDrawn(t, c.cond, c.seed)
		})
	}
}
