package scanner

import (
	"fmt"
)

// fourCC is a V4L2 pixel format code.
type fourCC uint32

func fourcc(s string) fourCC {
	return fourCC(uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24)
}

var (
	fmtGREY  = fourcc("GREY")
	fmtYUYV  = fourcc("YUYV")
	fmtMJPEG = fourcc("MJPG")
)

func (f fourCC) String() string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return fmt.Sprintf("0x%08x", uint32(f))
		}
	}
	if f == fmtMJPEG {
		return "MJPEG"
	}
	return string(b)
}

// chooseFormat picks the pixel format to ask for: the configured one
// (GREY, YUYV or MJPEG) if the camera offers it, or with "auto" the first
// offered of GREY (luminance as is), YUYV (luminance every other byte) and
// MJPEG (decoded in software: more CPU, but some cameras offer their larger
// sizes only so).
func chooseFormat(want string, offered []fourCC) (fourCC, error) {
	has := func(f fourCC) bool {
		for _, o := range offered {
			if o == f {
				return true
			}
		}
		return false
	}
	var order []fourCC
	switch want {
	case "GREY":
		order = []fourCC{fmtGREY}
	case "YUYV":
		order = []fourCC{fmtYUYV}
	case "MJPEG":
		order = []fourCC{fmtMJPEG}
	case "", "auto":
		order = []fourCC{fmtGREY, fmtYUYV, fmtMJPEG}
	default:
		return 0, fmt.Errorf("unknown camera format %q", want)
	}
	for _, f := range order {
		if has(f) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("camera offers none of %v (it has %v)", order, offered)
}

// frameSize is one entry of a camera's size list: discrete when the steps
// are zero, else a range.
type frameSize struct {
	minW, maxW, stepW int
	minH, maxH, stepH int
}

// chooseSize picks the size closest to w×h among what the camera offers:
// an exact discrete size, else the discrete size nearest in area (ties: the
// larger), or w×h clamped and stepped into a range. With no list (some
// drivers do not enumerate) it asks for w×h and lets the driver adjust.
func chooseSize(sizes []frameSize, w, h int) (int, int) {
	bestW, bestH, bestD := w, h, -1
	for _, s := range sizes {
		cw, ch := s.maxW, s.maxH
		if s.stepW != 0 || s.stepH != 0 || s.minW != s.maxW || s.minH != s.maxH {
			cw = stepClamp(w, s.minW, s.maxW, s.stepW)
			ch = stepClamp(h, s.minH, s.maxH, s.stepH)
		}
		d := abs(cw*ch - w*h)
		if cw == w && ch == h {
			return w, h
		}
		if bestD < 0 || d < bestD || (d == bestD && cw*ch > bestW*bestH) {
			bestW, bestH, bestD = cw, ch, d
		}
	}
	return bestW, bestH
}

func stepClamp(v, lo, hi, step int) int {
	v = min(max(v, lo), hi)
	if step > 1 {
		v = lo + (v-lo)/step*step
	}
	return v
}

// frameLayout works out where the luminance is in a captured buffer of n
// bytes for format f at the size asked for (w×h). The driver may have set
// another size (the webcam package does not say), or pad its rows: the
// layout is taken from the buffer length, trying w×h, then the sizes the
// camera offers. It returns the size, the bytes per row and the bytes per
// pixel (GREY 1, YUYV 2).
func frameLayout(f fourCC, n, w, h int, sizes []frameSize) (fw, fh, bpl, bpp int, err error) {
	switch f {
	case fmtGREY:
		bpp = 1
	case fmtYUYV:
		bpp = 2
	default:
		return 0, 0, 0, 0, fmt.Errorf("no raw layout for %v", f)
	}
	fits := func(w, h int) (int, bool) {
		// In 64 bits: a listed size's w*h*bpp can wrap a 32-bit int (armv7)
		// to a small buffer's length, which then "fits" a huge frame.
		size := int64(w) * int64(h) * int64(bpp)
		if w <= 0 || h <= 0 || int64(n) < size {
			return 0, false
		}
		if int64(n) == size {
			return w * bpp, true
		}
		// Padded rows: sizeimage = bytesperline × height.
		if n%h == 0 && n/h >= w*bpp && n/h < w*bpp+256 {
			return n / h, true
		}
		return 0, false
	}
	if l, ok := fits(w, h); ok {
		return w, h, l, bpp, nil
	}
	for _, s := range sizes {
		if s.stepW == 0 && s.stepH == 0 {
			if l, ok := fits(s.maxW, s.maxH); ok {
				return s.maxW, s.maxH, l, bpp, nil
			}
		}
	}
	return 0, 0, 0, 0, fmt.Errorf("a %v frame of %d bytes fits neither %dx%d nor any size the camera lists", f, n, w, h)
}

// yuyvLuma copies the Y samples of a YUYV frame (Y0 U Y1 V ...) into dst,
// which must hold w×h bytes.
func yuyvLuma(dst, src []byte, w, h, bpl int) {
	for y := 0; y < h; y++ {
		s := src[y*bpl : y*bpl+2*w]
		d := dst[y*w : y*w+w]
		for x := range d {
			d[x] = s[2*x]
		}
	}
}
