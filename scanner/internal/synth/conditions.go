package synth

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Condition is a kind of frame a kiosk camera takes, after tracker issue
// 16: each draws Shots from a seed.
type Condition string

// The conditions. Each but Webcam adds one trouble to a milder version of
// Webcam's scene, so that a per-condition rate says what that trouble costs.
const (
	// Webcam: 640×480, code at 22–72 % of the height, tilted ±30° with
	// perspective, read noise σ 4–16, mild defocus, smooth shading over a
	// textured background, uneven light, glare spots, dark mode 1 in 7.
	Webcam Condition = "webcam"
	// Motion: smear of 1–6 px in any direction (a hand moving the phone).
	Motion Condition = "motion"
	// LowLight: dark modules at 25–85, light at 170–240, shot noise from a
	// small electron count (noise grows as the exposure drops) plus read
	// noise amplified by the gain.
	LowLight Condition = "lowlight"
	// MJPEG: the camera's compression at quality 12–40.
	MJPEG Condition = "mjpeg"
	// Moire: the code on a phone screen whose pixel grid (pitch 0.6–2.2
	// frame pixels) beats against the sensor's.
	Moire Condition = "moire"
	// Small720p: 1280×720 with a small code, 12–24 % of the height.
	Small720p Condition = "720p-small"
	// Rolling: the rolling shutter's skew of a code moving sideways
	// (0.05–0.35 px per row) with the smear of that motion.
	Rolling Condition = "rolling"
)

// Conditions lists them in report order.
func Conditions() []Condition {
	return []Condition{Webcam, Motion, LowLight, MJPEG, Moire, Small720p, Rolling}
}

// ParseCondition returns the named condition.
func ParseCondition(s string) (Condition, error) {
	for _, c := range Conditions() {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("synth: unknown condition %q", s)
}

// Draw picks a shot of condition c from seed: a code (a kiosk code as 64
// hex characters in either case, or in a URL) unless noCode, and the
// camera's and the scene's parameters. Parameters are rounded to 0.01 so
// that Params prints them exactly and a manifest row renders the same
// frame as Draw's.
func Draw(c Condition, seed uint64, noCode bool) (Shot, error) {
	if _, err := ParseCondition(string(c)); err != nil {
		return Shot{}, err
	}
	rng := rand.New(rand.NewPCG(seed, condSalt(c)))
	u := func(lo, hi float64) float64 { return q2(lo + rng.Float64()*(hi-lo)) }
	s := Shot{W: 640, H: 480, Seed: RenderSeed(c, seed)}
	if c == Small720p {
		s.W, s.H = 1280, 720
	}
	fh := float64(s.H)
	// The code: its text, size, place and pose.
	var code [32]byte
	for i := range code {
		code[i] = byte(rng.Uint32())
	}
	text := hex.EncodeToString(code[:])
	switch rng.IntN(5) {
	case 0:
		text = strings.ToUpper(text)
	case 1:
		text = "https://tickets.example.org/c?code=" + text
	}
	s.Size = q2(u(0.22, 0.72) * fh)
	if c == Small720p {
		s.Size = q2(u(0.12, 0.24) * fh)
	}
	s.Roll = u(-180, 180)
	s.Pitch, s.Yaw = u(-30, 30), u(-30, 30)
	// The symbol (the code less its quiet zone, 4 of ~33-41 modules a side)
	// lies wholly in the frame, as a user holds a code up to a kiosk; the
	// quiet zone may be cut. A code too large to fit so is centred.
	x0, y0, x1, y1 := s.extent(0.8)
	s.CX = place(u, -x0, float64(s.W)-x1, float64(s.W))
	s.CY = place(u, -y0, fh-y1, fh)
	s.Invert = rng.IntN(7) == 0
	s.Dark, s.Light = u(15, 60), u(185, 235)
	// The scene's light.
	s.Shade, s.Gradient, s.GradAngle, s.Vignette = u(0.1, 0.5), u(0.1, 0.6), u(0, 360), u(0, 0.4)
	s.Glare = rng.IntN(3)
	s.GlareAmp = u(30, 140)
	// The camera.
	s.Defocus = u(0.4, 1.3)
	s.Noise = u(2, 6)
	switch c {
	case Webcam:
		s.Noise = u(4, 16)
	case Motion:
		s.Smear, s.SmearAngle = u(1, 6), u(0, 180)
	case LowLight:
		s.Dark, s.Light = u(25, 85), u(170, 240)
		// A tenth to a half of a normal exposure, gained back: fewer
		// electrons (shot noise) and the read noise amplified.
		exposure := u(0.1, 0.5)
		s.Well = q2(2000 * exposure)
		s.Noise = q2(1.2 / exposure)
	case MJPEG:
		s.JPEG = 12 + rng.IntN(29)
	case Moire:
		s.Screen = u(0.6, 2.2)
		// Screens are often dark-mode and glossy.
		s.Invert = rng.IntN(4) == 0
		s.Glare = rng.IntN(4)
	case Small720p:
		s.Noise = u(3, 8)
	case Rolling:
		s.Skew = u(0.05, 0.35)
		if rng.IntN(2) == 0 {
			s.Skew = -s.Skew
		}
		s.Smear, s.SmearAngle = u(0.5, 3), 0
	}
	if !noCode {
		s.Text = text
	}
	return s, nil
}

// RenderSeed is the Shot.Seed of a condition's seed: shots of one seed in
// different conditions do not share a background or noise.
func RenderSeed(c Condition, seed uint64) uint64 { return seed ^ condSalt(c) }

// place draws a coordinate in [lo, hi], or the middle of 0..size if that
// is empty (a draw is made either way, to keep the sequence).
func place(u func(lo, hi float64) float64, lo, hi, size float64) float64 {
	v := u(0, 1)
	if lo > hi {
		return q2(size / 2)
	}
	return q2(lo + v*(hi-lo))
}

// condSalt makes each condition draw its own sequence from a seed.
func condSalt(c Condition) uint64 { return fnv64(string(c)) }

// fnv64 is FNV-1a.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func q2(v float64) float64 { return math.Round(v*100) / 100 }

// paramKeys are Params' keys in order, with each field's address.
func (s *Shot) paramFields() []struct {
	key string
	f   *float64
	i   *int
	b   *bool
} {
	type fd = struct {
		key string
		f   *float64
		i   *int
		b   *bool
	}
	return []fd{
		{"w", nil, &s.W, nil}, {"h", nil, &s.H, nil},
		{"size", &s.Size, nil, nil}, {"cx", &s.CX, nil, nil}, {"cy", &s.CY, nil, nil},
		{"roll", &s.Roll, nil, nil}, {"pitch", &s.Pitch, nil, nil}, {"yaw", &s.Yaw, nil, nil},
		{"dark", &s.Dark, nil, nil}, {"light", &s.Light, nil, nil}, {"invert", nil, nil, &s.Invert},
		{"screen", &s.Screen, nil, nil},
		{"shade", &s.Shade, nil, nil}, {"gradient", &s.Gradient, nil, nil}, {"gradangle", &s.GradAngle, nil, nil},
		{"vignette", &s.Vignette, nil, nil},
		{"glare", nil, &s.Glare, nil}, {"glareamp", &s.GlareAmp, nil, nil},
		{"smear", &s.Smear, nil, nil}, {"smearangle", &s.SmearAngle, nil, nil}, {"skew", &s.Skew, nil, nil},
		{"defocus", &s.Defocus, nil, nil}, {"noise", &s.Noise, nil, nil}, {"well", &s.Well, nil, nil},
		{"jpeg", nil, &s.JPEG, nil},
	}
}

// Params prints the shot's parameters (all but Text and Seed) as
// space-separated key=value pairs, in a fixed order; ParseParams reads
// them back exactly.
func (s Shot) Params() string {
	var b strings.Builder
	for i, f := range s.paramFields() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.key)
		b.WriteByte('=')
		switch {
		case f.f != nil:
			b.WriteString(strconv.FormatFloat(*f.f, 'f', -1, 64))
		case f.i != nil:
			b.WriteString(strconv.Itoa(*f.i))
		default:
			b.WriteString(strconv.FormatBool(*f.b))
		}
	}
	return b.String()
}

// ParseParams reads Params' output into a Shot with the given text and
// seed. Every key must be present once; unknown keys are errors.
func ParseParams(params, text string, seed uint64) (Shot, error) {
	s := Shot{Text: text, Seed: seed}
	fields := s.paramFields()
	seen := map[string]bool{}
	for _, kv := range strings.Fields(params) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Shot{}, fmt.Errorf("synth: parameter %q is not key=value", kv)
		}
		if seen[k] {
			return Shot{}, fmt.Errorf("synth: parameter %s given twice", k)
		}
		seen[k] = true
		var err error
		found := false
		for _, f := range fields {
			if f.key != k {
				continue
			}
			found = true
			switch {
			case f.f != nil:
				*f.f, err = strconv.ParseFloat(v, 64)
				if err == nil && (math.IsNaN(*f.f) || math.IsInf(*f.f, 0)) {
					err = fmt.Errorf("not finite")
				}
			case f.i != nil:
				*f.i, err = strconv.Atoi(v)
			default:
				*f.b, err = strconv.ParseBool(v)
			}
		}
		if !found {
			return Shot{}, fmt.Errorf("synth: unknown parameter %q", k)
		}
		if err != nil {
			return Shot{}, fmt.Errorf("synth: parameter %s: %w", k, err)
		}
	}
	for _, f := range fields {
		if !seen[f.key] {
			return Shot{}, fmt.Errorf("synth: parameter %s missing", f.key)
		}
	}
	if s.W < 16 || s.H < 16 || s.W > 8192 || s.H > 8192 {
		return Shot{}, fmt.Errorf("synth: bad frame size %dx%d", s.W, s.H)
	}
	if s.Defocus < 0 || s.Defocus > 20 || s.Smear < 0 || s.Smear > 50 || s.Screen < 0 || s.Well < 0 || s.JPEG < 0 || s.JPEG > 100 || s.Glare < 0 || s.Glare > 50 || s.Size < 0 || s.Size > 1e5 {
		return Shot{}, fmt.Errorf("synth: parameters out of range: %s", params)
	}
	return s, nil
}

// FileName is the frame's name in a corpus: condition, "nocode" for a
// frame without a code, and seed.
func FileName(c Condition, seed uint64, noCode bool) string {
	kind := "code"
	if noCode {
		kind = "nocode"
	}
	return fmt.Sprintf("%s-%s-%d.pgm", c, kind, seed)
}
