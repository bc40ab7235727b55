package synth

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Shot is one frame as a cheap webcam in a dim venue takes it: a code (or
// none) on a textured, unevenly lit background, seen through a lens and a
// sensor that add what such cameras add. A zero field turns its effect off.
// Render is deterministic for a Shot: the background, the glare spots and
// the noise come from Seed.
//
// The pipeline follows the light: scene (background, code, shading, glare),
// motion of the hand-held code (smear, rolling-shutter skew), lens
// (defocus), sensor (shot and read noise, clipping, 8-bit levels), then the
// camera's MJPEG compression.
type Shot struct {
	W, H int
	// Text is the code's content; empty is a frame without a code.
	Text string
	// Size is the code's side in pixels, quiet zone included, as it would
	// appear facing the camera at the centre.
	Size float64
	// CX, CY is the code's centre in the frame.
	CX, CY float64
	// Roll turns the code in its plane; Pitch and Yaw tip it away from the
	// camera (perspective: the far edge shrinks). Degrees.
	Roll, Pitch, Yaw float64
	// Dark and Light are the module levels where the code's centre is lit
	// (grey levels, before noise). Invert draws light modules on dark: a
	// dark-mode phone.
	Dark, Light float64
	Invert      bool
	// Screen is the pixel pitch, in frame pixels, of the phone screen that
	// shows the code: its RGB stripes and black matrix beat against the
	// sensor's grid (moiré). 0 is a printed code.
	Screen float64
	// Shade is the depth of smooth, large-scale shading (0..1); Gradient
	// darkens the frame along GradAngle (degrees) by up to this fraction
	// (light from one side); Vignette darkens the corners by this fraction.
	Shade, Gradient, GradAngle, Vignette float64
	// Glare is the number of specular spots (strength GlareAmp grey levels
	// at their centre), most of them on the code.
	Glare    int
	GlareAmp float64
	// Smear is the length in pixels of the motion blur of the moving code,
	// along SmearAngle (degrees). Skew is the rolling shutter's: the code
	// moves Skew pixels sideways per sensor row read out.
	Smear, SmearAngle, Skew float64
	// Defocus is the lens blur, the σ in pixels of a Gaussian.
	Defocus float64
	// Noise is the read noise's σ in grey levels. Well is the number of
	// electrons a white pixel collects: shot noise, which grows as the
	// exposure (and so Well) drops; 0 leaves it out.
	Noise, Well float64
	// JPEG is the quality of the camera's MJPEG compression; 0 is none.
	JPEG int
	Seed uint64
}

// focal is the lens's focal length in frame widths: a webcam's ~60° view.
const focal = 0.9

// Render draws the shot as the camera delivers it.
func (s Shot) Render() (*image.Gray, error) {
	if s.W < 16 || s.H < 16 || s.W > 8192 || s.H > 8192 {
		return nil, fmt.Errorf("synth: bad frame size %dx%d", s.W, s.H)
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0xca3e7a))
	w, h := s.W, s.H
	light := s.illumination(rng)
	scene := make([]float64, w*h)
	background(scene, w, h, rng)
	for i := range scene {
		scene[i] *= light[i]
	}
	if s.Text != "" {
		if err := s.drawCode(scene, light); err != nil {
			return nil, err
		}
	}
	s.glare(scene, rng)
	if s.Defocus > 0 {
		gaussBlur(scene, w, h, s.Defocus)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range scene {
		if s.Well > 0 {
			e := math.Max(v, 0) / 255 * s.Well
			v = (e + math.Sqrt(e)*rng.NormFloat64()) / s.Well * 255
		}
		if s.Noise > 0 {
			v += s.Noise * rng.NormFloat64()
		}
		img.Pix[i] = level(v)
	}
	if s.JPEG > 0 {
		return jpegRoundTrip(img, s.JPEG)
	}
	return img, nil
}

// illumination is the light falling on each pixel: a smooth random field,
// a gradient from one side and vignetting, scaled to 1 at the code's centre
// (CX, CY) so that Dark and Light are the levels seen there.
func (s Shot) illumination(rng *rand.Rand) []float64 {
	w, h := s.W, s.H
	out := make([]float64, w*h)
	field := newValueNoise(rng, 4, 3)
	field.fill(out, w, h, -s.Shade, 1)
	gs, gc := math.Sincos(s.GradAngle * math.Pi / 180)
	diag := math.Hypot(float64(w), float64(h)) / 2
	light := func(v, x, y float64) float64 {
		// Gradient: 0 on the lit side, -Gradient on the far one.
		dx, dy := x-float64(w)/2, y-float64(h)/2
		t := (dx*gc + dy*gs) / diag
		v *= 1 - s.Gradient*(t+1)/2
		v *= 1 - s.Vignette*(dx*dx+dy*dy)/(diag*diag)
		if v < 0.02 {
			return 0.02
		}
		return v
	}
	// The same with or without the code: an empty frame of a draw is lit
	// as the one with the code.
	norm := light(1-s.Shade*field.at(s.CX/float64(w), s.CY/float64(h)), s.CX, s.CY)
	for y := 0; y < h; y++ {
		row := out[y*w : y*w+w]
		for x := range row {
			row[x] = light(row[x], float64(x), float64(y)) / norm
		}
	}
	return out
}

// background is a venue behind the code: large soft shapes, fine texture
// (a wall, a carpet) and posters with hard edges and corners.
func background(dst []float64, w, h int, rng *rand.Rand) {
	coarse := newValueNoise(rng, 5, 4)
	fineCell := 3 + rng.Float64()*5
	fine := newValueNoise(rng, int(float64(w)/fineCell)+2, int(float64(h)/fineCell)+2)
	base := 90 + rng.Float64()*90
	coarse.fill(dst, w, h, 70, base-35)
	tex := make([]float64, w*h)
	fine.fill(tex, w, h, 30, -15)
	for i := range dst {
		dst[i] += tex[i]
	}
	for i, n := 0, 3+rng.IntN(10); i < n; i++ {
		x0, y0 := rng.IntN(w), rng.IntN(h)
		x1, y1 := min(x0+8+rng.IntN(w/3), w), min(y0+8+rng.IntN(h/3), h)
		tone, grain := 20+rng.Float64()*215, rng.Float64()*25
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				dst[y*w+x] = tone + grain/30*tex[y*w+x]
			}
		}
	}
}

// drawCode composites the code over the scene: modules through the pose's
// perspective and the rolling shutter's skew, 3×3 samples per pixel, the
// screen's subpixel grid if shown on one, then the motion smear of code and
// edge alike.
func (s Shot) drawCode(scene, light []float64) error {
	m, err := Encode(s.Text)
	if err != nil {
		return err
	}
	n := m.GetWidth()
	modules := make([]bool, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			modules[y*n+x] = m.Get(x, y)
		}
	}
	dark, lit := s.Dark, s.Light
	if dark == 0 && lit == 0 {
		dark, lit = 30, 220
	}
	if s.Invert {
		dark, lit = lit, dark
	}
	quad := s.quad()
	toCode := quadToSquare(quad)
	w, h := s.W, s.H
	pad := int(math.Ceil(s.Smear)) + 2
	skewMax := math.Abs(s.Skew) * float64(h)
	x0, y0, x1, y1 := bounds(quad, image.Rect(-1<<20, -1<<20, 1<<20, 1<<20))
	x0 = max(x0-int(skewMax)-pad, 0)
	x1 = min(x1+int(skewMax)+pad, w)
	y0, y1 = max(y0-pad, 0), min(y1+pad, h)
	if x0 >= x1 || y0 >= y1 {
		return nil
	}
	bw, bh := x1-x0, y1-y0
	val := make([]float64, bw*bh) // code luminance × coverage
	cov := make([]float64, bw*bh) // coverage
	var screenPx float64          // screen pixels across the code
	if s.Screen > 0 {
		screenPx = s.Size / s.Screen
	}
	const ss = 3
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			sum, in := 0.0, 0
			for j := 0; j < ss; j++ {
				py := float64(y) + (float64(j)+0.5)/ss
				// Rows are read out one after another: the moving code has
				// moved on by the time a lower row is exposed.
				sx := -s.Skew * (py - s.CY)
				for i := 0; i < ss; i++ {
					u, v := toCode.apply(float64(x)+(float64(i)+0.5)/ss+sx, py)
					if u < 0 || v < 0 || u >= 1 || v >= 1 {
						continue
					}
					in++
					lum := lit
					if modules[int(v*float64(n))*n+int(u*float64(n))] {
						lum = dark
					}
					if screenPx > 0 {
						lum *= screenGrid(u*screenPx, v*screenPx)
					}
					sum += lum
				}
			}
			k := (y-y0)*bw + x - x0
			val[k] = sum / (ss * ss)
			cov[k] = float64(in) / (ss * ss)
			if s.Screen == 0 {
				// Paper is lit by the room; a screen makes its own light.
				val[k] *= light[y*w+x]
			}
		}
	}
	if s.Smear > 0 {
		val = smear(val, bw, bh, s.Smear, s.SmearAngle)
		cov = smear(cov, bw, bh, s.Smear, s.SmearAngle)
	}
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			k := (y-y0)*bw + x - x0
			scene[y*w+x] = scene[y*w+x]*(1-cov[k]) + val[k]
		}
	}
	return nil
}

// quad is where the code's corners (top left, top right, bottom right,
// bottom left) land in the frame: the code rotated in 3D at the distance
// where it appears Size wide, then projected through a pinhole.
func (s Shot) quad() [4][2]float64 {
	f := focal * float64(s.W)
	r := s.Size / 2
	sr, cr := math.Sincos(s.Roll * math.Pi / 180)
	sp, cp := math.Sincos(s.Pitch * math.Pi / 180)
	sy, cy := math.Sincos(s.Yaw * math.Pi / 180)
	var q [4][2]float64
	for i, c := range [4][2]float64{{-r, -r}, {r, -r}, {r, r}, {-r, r}} {
		x, y := c[0]*cr-c[1]*sr, c[0]*sr+c[1]*cr
		// Pitch about the horizontal axis, then yaw about the vertical.
		y, z := y*cp, y*sp
		x, z = x*cy+z*sy, -x*sy+z*cy
		q[i] = [2]float64{s.CX + f*x/(f+z), s.CY + f*y/(f+z)}
	}
	return q
}

// extent is the bounding box, relative to the code's centre, of the
// central part of the code (frac of its side) as the pose projects it.
func (s Shot) extent(frac float64) (x0, y0, x1, y1 float64) {
	c := s
	c.CX, c.CY, c.Size = 0, 0, s.Size*frac
	q := c.quad()
	x0, y0, x1, y1 = q[0][0], q[0][1], q[0][0], q[0][1]
	for _, p := range q[1:] {
		x0, x1 = min(x0, p[0]), max(x1, p[0])
		y0, y1 = min(y0, p[1]), max(y1, p[1])
	}
	return x0, y0, x1, y1
}

// screenGrid is a phone screen's brightness at (sx, sy) in screen pixels:
// three vertical subpixel stripes (red, green, blue as a grey sensor weighs
// them) and a dark gap between rows. Averaged over a pixel it is 1.
func screenGrid(sx, sy float64) float64 {
	fx, fy := sx-math.Floor(sx), sy-math.Floor(sy)
	g := 0.0
	switch {
	case fx < 1.0/3:
		g = 0.9
	case fx < 2.0/3:
		g = 1.77
	default:
		g = 0.33
	}
	if fy > 0.8 {
		return 0.25 * g / 0.95
	}
	return g / 0.95
}

// glare adds specular spots: the venue's lights mirrored in the laminate
// or screen, most of them on the code.
func (s Shot) glare(scene []float64, rng *rand.Rand) {
	w, h := s.W, s.H
	for i := 0; i < s.Glare; i++ {
		cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
		if s.Text != "" && rng.IntN(4) > 0 {
			cx = s.CX + (rng.Float64()-0.5)*s.Size*0.8
			cy = s.CY + (rng.Float64()-0.5)*s.Size*0.8
		}
		r := 4 + rng.Float64()*math.Max(8, s.Size/8)
		amp := s.GlareAmp * (0.5 + rng.Float64()/2)
		x0, x1 := max(int(cx-3*r), 0), min(int(cx+3*r)+1, w)
		y0, y1 := max(int(cy-3*r), 0), min(int(cy+3*r)+1, h)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				d2 := ((float64(x)-cx)*(float64(x)-cx) + (float64(y)-cy)*(float64(y)-cy)) / (r * r)
				scene[y*w+x] += amp * math.Exp(-d2/2)
			}
		}
	}
}

// smear averages each pixel along a line of length l at angle a (degrees),
// sampling at half-pixel steps with bilinear interpolation.
func smear(src []float64, w, h int, l, a float64) []float64 {
	out := make([]float64, len(src))
	sn, cs := math.Sincos(a * math.Pi / 180)
	steps := int(math.Ceil(l*2)) + 1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum := 0.0
			for k := 0; k < steps; k++ {
				t := (float64(k)/float64(steps-1) - 0.5) * l
				sum += bilinear(src, w, h, float64(x)+t*cs, float64(y)+t*sn)
			}
			out[y*w+x] = sum / float64(steps)
		}
	}
	return out
}

func bilinear(src []float64, w, h int, x, y float64) float64 {
	x = min(max(x, 0), float64(w-1))
	y = min(max(y, 0), float64(h-1))
	ix, iy := min(int(x), w-2), min(int(y), h-2)
	if w < 2 || h < 2 {
		return src[0]
	}
	fx, fy := x-float64(ix), y-float64(iy)
	a, b := src[iy*w+ix], src[iy*w+ix+1]
	c, d := src[(iy+1)*w+ix], src[(iy+1)*w+ix+1]
	return (a*(1-fx)+b*fx)*(1-fy) + (c*(1-fx)+d*fx)*fy
}

// gaussBlur blurs in place with a separable Gaussian of σ sigma, edges
// clamped.
func gaussBlur(buf []float64, w, h int, sigma float64) {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	sum := 0.0
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, len(buf))
	// Each row, then each column, is copied into a line padded with its
	// edge values, so that the inner loop needs no bounds clamping.
	line := make([]float64, max(w, h)+2*r)
	conv := func(n int, out []float64, stride int) {
		for i := 0; i < n; i++ {
			v := 0.0
			for j, kv := range k {
				v += kv * line[i+j]
			}
			out[i*stride] = v
		}
	}
	for y := 0; y < h; y++ {
		for i := range w + 2*r {
			line[i] = buf[y*w+min(max(i-r, 0), w-1)]
		}
		conv(w, tmp[y*w:], 1)
	}
	for x := 0; x < w; x++ {
		for i := range h + 2*r {
			line[i] = tmp[min(max(i-r, 0), h-1)*w+x]
		}
		conv(h, buf[x:], w)
	}
}

// valueNoise is smooth random variation in [0,1]: random values on a grid
// of cells over the unit square, interpolated with a smoothstep.
type valueNoise struct {
	nx, ny int
	v      []float64
}

func newValueNoise(rng *rand.Rand, nx, ny int) valueNoise {
	v := make([]float64, (nx+1)*(ny+1))
	for i := range v {
		v[i] = rng.Float64()
	}
	return valueNoise{nx, ny, v}
}

func (n valueNoise) at(u, v float64) float64 {
	x, y := u*float64(n.nx), v*float64(n.ny)
	ix, iy := min(max(int(x), 0), n.nx-1), min(max(int(y), 0), n.ny-1)
	fx, fy := smoothstep(x-float64(ix)), smoothstep(y-float64(iy))
	s := n.nx + 1
	a, b := n.v[iy*s+ix], n.v[iy*s+ix+1]
	c, d := n.v[(iy+1)*s+ix], n.v[(iy+1)*s+ix+1]
	return (a*(1-fx)+b*fx)*(1-fy) + (c*(1-fx)+d*fx)*fy
}

// fill sets dst (w×h) to scale×noise+offset, the noise stretched over the
// frame; the per-column and per-row weights are computed once.
func (n valueNoise) fill(dst []float64, w, h int, scale, offset float64) {
	ix, fx := n.axis(w, n.nx)
	iy, fy := n.axis(h, n.ny)
	s := n.nx + 1
	for y := 0; y < h; y++ {
		r0, r1 := n.v[iy[y]*s:], n.v[(iy[y]+1)*s:]
		wy := fy[y]
		row := dst[y*w : y*w+w]
		for x := range row {
			i, wx := ix[x], fx[x]
			top := r0[i] + (r0[i+1]-r0[i])*wx
			bot := r1[i] + (r1[i+1]-r1[i])*wx
			row[x] = scale*(top+(bot-top)*wy) + offset
		}
	}
}

// axis is the cell and smoothstep weight of each of size pixels along an
// axis of cells cells.
func (n valueNoise) axis(size, cells int) ([]int, []float64) {
	idx, wt := make([]int, size), make([]float64, size)
	for p := range idx {
		c := float64(p) / float64(size) * float64(cells)
		i := min(max(int(c), 0), cells-1)
		idx[p], wt[p] = i, smoothstep(c-float64(i))
	}
	return idx, wt
}

func smoothstep(t float64) float64 {
	t = math.Max(0, math.Min(1, t))
	return t * t * (3 - 2*t)
}

// jpegRoundTrip compresses as a webcam's MJPEG stream does and decodes
// again, keeping the blocking and ringing a decoder then sees.
func jpegRoundTrip(img *image.Gray, quality int) (*image.Gray, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("synth: compressing: %w", err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		return nil, fmt.Errorf("synth: decompressing: %w", err)
	}
	g, ok := out.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("synth: JPEG decoded as %T, want grey", out)
	}
	return g, nil
}

// level rounds a grey level into a byte, as the sensor's ADC clips.
func level(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}
