// Package synth makes camera-like test frames holding a QR code: the code
// is encoded with gozxing, placed on a lit background through a perspective
// transform, then blurred, given noise and squeezed in contrast. Tests and
// the demo frame generator share it; everything is deterministic for a seed.
//
// Scene and Render are the simple model the unit tests and the demo frames
// use. Shot is the camera model of tracker issue 16: a cheap webcam in a
// dim venue (pose in 3D, textured and unevenly lit background, glare,
// motion smear, rolling shutter, defocus, shot and read noise, MJPEG, phone
// screens' moiré). Draw picks a Shot of a Condition from a seed; a corpus
// is a manifest of such rows (WriteManifest, ReadManifest) from which the
// frames are rendered again bit for bit on one architecture (floating-point
// rounding, e.g. fused multiply-adds on arm64, may move a level by one
// elsewhere).
package synth

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Scene describes one frame.
type Scene struct {
	W, H int
	// Text is encoded as a QR code; empty means a frame without a code.
	Text string
	// Size is the code's width in pixels including its quiet zone (4 modules).
	Size float64
	// CX, CY is the code's centre in the frame.
	CX, CY float64
	// Rotate is a rotation in degrees; Tilt tips the code away from the
	// camera (perspective, 0..0.5: how much narrower the far edge is).
	Rotate, Tilt float64
	// Dark and Light are the levels of dark and light modules (0 and 0 mean
	// 30 and 220). Invert swaps them: a light-on-dark (dark-mode) screen.
	Dark, Light uint8
	Invert      bool
	// Blur is a box blur radius in pixels (applied twice, near Gaussian).
	Blur int
	// Noise is the standard deviation of added Gaussian noise.
	Noise float64
	// Gradient darkens the frame from left to right by up to this much, as
	// light falling from one side.
	Gradient float64
	// Clutter draws this many random rectangles behind the code: edges and
	// corners like a real scene, which a finder-pattern search must reject.
	Clutter int
	Seed    uint64
}

// Render draws the scene.
func Render(s Scene) (*image.Gray, error) {
	if s.W < 1 || s.H < 1 {
		return nil, fmt.Errorf("synth: bad size %dx%d", s.W, s.H)
	}
	dark, light := float64(s.Dark), float64(s.Light)
	if s.Dark == 0 && s.Light == 0 {
		dark, light = 30, 220
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x5eed))
	img := image.NewGray(image.Rect(0, 0, s.W, s.H))
	// Background: a soft gradient with a few darker blobs (a scene behind).
	bx, by := rng.Float64()*float64(s.W), rng.Float64()*float64(s.H)
	for y := 0; y < s.H; y++ {
		for x := 0; x < s.W; x++ {
			d := math.Hypot(float64(x)-bx, float64(y)-by) / float64(s.W)
			v := 150 + 60*math.Cos(d*3)
			img.Pix[y*img.Stride+x] = clamp(v)
		}
	}
	for i := 0; i < s.Clutter; i++ {
		x0, y0 := rng.IntN(s.W), rng.IntN(s.H)
		x1, y1 := min(x0+4+rng.IntN(s.W/4), s.W), min(y0+4+rng.IntN(s.H/4), s.H)
		v := uint8(rng.IntN(256))
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.Pix[y*img.Stride+x] = v
			}
		}
	}
	if s.Text != "" {
		if err := drawCode(img, s, dark, light); err != nil {
			return nil, err
		}
	}
	for i := 0; i < 2 && s.Blur > 0; i++ {
		boxBlur(img, s.Blur)
	}
	for y := 0; y < s.H; y++ {
		for x := 0; x < s.W; x++ {
			v := float64(img.Pix[y*img.Stride+x])
			if s.Gradient != 0 {
				v -= s.Gradient * float64(x) / float64(s.W)
			}
			if s.Noise > 0 {
				v += rng.NormFloat64() * s.Noise
			}
			img.Pix[y*img.Stride+x] = clamp(v)
		}
	}
	return img, nil
}

// Encode returns the QR modules of text, quiet zone included, one bit per module.
func Encode(text string) (*gozxing.BitMatrix, error) {
	hints := map[gozxing.EncodeHintType]interface{}{gozxing.EncodeHintType_MARGIN: 4}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 1, 1, hints)
	if err != nil {
		return nil, fmt.Errorf("synth: encoding %d bytes: %w", len(text), err)
	}
	return m, nil
}

func drawCode(img *image.Gray, s Scene, dark, light float64) error {
	m, err := Encode(s.Text)
	if err != nil {
		return err
	}
	n := float64(m.GetWidth())
	if s.Size <= 0 {
		s.Size = 200
	}
	if s.Invert {
		dark, light = light, dark
	}
	// Corners of the code in the frame: a square of Size, tilted (top edge
	// narrower) and rotated about the centre.
	h := s.Size / 2
	top := h * (1 - s.Tilt)
	quad := [4][2]float64{{-top, -h}, {top, -h}, {h, h}, {-h, h}}
	sin, cos := math.Sincos(s.Rotate * math.Pi / 180)
	for i, p := range quad {
		quad[i] = [2]float64{s.CX + p[0]*cos - p[1]*sin, s.CY + p[0]*sin + p[1]*cos}
	}
	toCode := quadToSquare(quad)
	minX, minY, maxX, maxY := bounds(quad, img.Bounds())
	// 3×3 supersampling, as a lens and sensor would average.
	const ss = 3
	for y := minY; y < maxY; y++ {
		for x := minX; x < maxX; x++ {
			sum, in := 0.0, 0
			for j := 0; j < ss; j++ {
				for i := 0; i < ss; i++ {
					u, v := toCode.apply(float64(x)+(float64(i)+0.5)/ss, float64(y)+(float64(j)+0.5)/ss)
					if u < 0 || v < 0 || u >= 1 || v >= 1 {
						continue
					}
					in++
					if m.Get(int(u*n), int(v*n)) {
						sum += dark
					} else {
						sum += light
					}
				}
			}
			if in == 0 {
				continue
			}
			bg := float64(img.Pix[y*img.Stride+x])
			img.Pix[y*img.Stride+x] = clamp((sum + bg*float64(ss*ss-in)) / (ss * ss))
		}
	}
	return nil
}

func bounds(q [4][2]float64, r image.Rectangle) (x0, y0, x1, y1 int) {
	fx0, fy0, fx1, fy1 := q[0][0], q[0][1], q[0][0], q[0][1]
	for _, p := range q[1:] {
		fx0, fx1 = math.Min(fx0, p[0]), math.Max(fx1, p[0])
		fy0, fy1 = math.Min(fy0, p[1]), math.Max(fy1, p[1])
	}
	x0 = max(int(math.Floor(fx0)), r.Min.X)
	y0 = max(int(math.Floor(fy0)), r.Min.Y)
	x1 = min(int(math.Ceil(fx1))+1, r.Max.X)
	y1 = min(int(math.Ceil(fy1))+1, r.Max.Y)
	return
}

// homography is a 3×3 projective transform.
type homography [9]float64

func (h homography) apply(x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}

// squareToQuad maps the unit square's corners (0,0) (1,0) (1,1) (0,1) onto q.
func squareToQuad(q [4][2]float64) homography {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1]
	dx3, dy3 := x0-x1+x2-x3, y0-y1+y2-y3
	if dx3 == 0 && dy3 == 0 {
		return homography{x1 - x0, x2 - x1, x0, y1 - y0, y2 - y1, y0, 0, 0, 1}
	}
	dx1, dx2, dy1, dy2 := x1-x2, x3-x2, y1-y2, y3-y2
	den := dx1*dy2 - dx2*dy1
	a13 := (dx3*dy2 - dx2*dy3) / den
	a23 := (dx1*dy3 - dx3*dy1) / den
	return homography{
		x1 - x0 + a13*x1, x3 - x0 + a23*x3, x0,
		y1 - y0 + a13*y1, y3 - y0 + a23*y3, y0,
		a13, a23, 1,
	}
}

// quadToSquare is the inverse of squareToQuad (the adjugate suffices for a
// projective map).
func quadToSquare(q [4][2]float64) homography {
	a := squareToQuad(q)
	return homography{
		a[4]*a[8] - a[5]*a[7], a[2]*a[7] - a[1]*a[8], a[1]*a[5] - a[2]*a[4],
		a[5]*a[6] - a[3]*a[8], a[0]*a[8] - a[2]*a[6], a[2]*a[3] - a[0]*a[5],
		a[3]*a[7] - a[4]*a[6], a[1]*a[6] - a[0]*a[7], a[0]*a[4] - a[1]*a[3],
	}
}

func boxBlur(img *image.Gray, r int) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	tmp := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum, n := 0.0, 0
			for k := max(x-r, 0); k <= min(x+r, w-1); k++ {
				sum += float64(img.Pix[y*img.Stride+k])
				n++
			}
			tmp[y*w+x] = sum / float64(n)
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum, n := 0.0, 0
			for k := max(y-r, 0); k <= min(y+r, h-1); k++ {
				sum += tmp[k*w+x]
				n++
			}
			img.Pix[y*img.Stride+x] = clamp(sum / float64(n))
		}
	}
}

func clamp(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}
