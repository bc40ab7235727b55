package scanner

import (
	"errors"

	"github.com/makiuchi-d/gozxing"
)

// lumSource shows a plane to gozxing without copying it (unless the plane
// has padding at the end of its rows, when GetMatrix copies into a buffer
// kept for the next frame).
type lumSource struct {
	p   plane
	buf []byte
}

var _ gozxing.LuminanceSource = (*lumSource)(nil)

func (s *lumSource) GetRow(y int, row []byte) ([]byte, error) {
	if y < 0 || y >= s.p.h {
		return nil, errors.New("scanner: row outside the image")
	}
	if len(row) < s.p.w {
		row = make([]byte, s.p.w)
	}
	copy(row, s.p.y[y*s.p.stride:y*s.p.stride+s.p.w])
	return row, nil
}

func (s *lumSource) GetMatrix() []byte {
	p := s.p
	if p.stride == p.w {
		return p.y[:p.w*p.h]
	}
	if cap(s.buf) < p.w*p.h {
		s.buf = make([]byte, p.w*p.h)
	}
	s.buf = s.buf[:p.w*p.h]
	for y := 0; y < p.h; y++ {
		copy(s.buf[y*p.w:], p.y[y*p.stride:y*p.stride+p.w])
	}
	return s.buf
}

func (s *lumSource) GetWidth() int         { return s.p.w }
func (s *lumSource) GetHeight() int        { return s.p.h }
func (s *lumSource) IsCropSupported() bool { return true }
func (s *lumSource) Crop(left, top, width, height int) (gozxing.LuminanceSource, error) {
	p := s.p
	if left < 0 || top < 0 || width < 1 || height < 1 || left+width > p.w || top+height > p.h {
		return nil, errors.New("scanner: crop outside the image")
	}
	return &lumSource{p: plane{y: p.y[top*p.stride+left:], w: width, h: height, stride: p.stride}}, nil
}
func (s *lumSource) IsRotateSupported() bool { return false }
func (s *lumSource) Invert() gozxing.LuminanceSource {
	return gozxing.NewInvertedLuminanceSource(s)
}
func (s *lumSource) RotateCounterClockwise() (gozxing.LuminanceSource, error) {
	return nil, errors.New("scanner: rotation not supported")
}
func (s *lumSource) RotateCounterClockwise45() (gozxing.LuminanceSource, error) {
	return nil, errors.New("scanner: rotation not supported")
}
func (s *lumSource) String() string { return gozxing.LuminanceSourceString(s) }
