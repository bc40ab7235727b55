package scanner

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// maxPGMPixels bounds what a PGM header may ask us to allocate (64 MP).
const maxPGMPixels = 1 << 26

func init() {
	// Registering a format is the image package's own mechanism; the table
	// it fills is the image package's, not ours.
	image.RegisterFormat("pgm", "P5", DecodePGM, DecodePGMConfig)
}

// DecodePGM reads a binary (P5) portable graymap: 8-bit samples, or 16-bit
// big-endian ones scaled to 8 bits.
func DecodePGM(r io.Reader) (image.Image, error) {
	br := bufio.NewReader(r)
	w, h, maxv, err := pgmHeader(br)
	if err != nil {
		return nil, err
	}
	bps := 1
	if maxv > 255 {
		bps = 2
	}
	// Read what is there before trusting the header's size: a short file
	// costs what it holds, not what it claims.
	data, err := io.ReadAll(io.LimitReader(br, int64(w*h*bps)))
	if err != nil {
		return nil, fmt.Errorf("pgm: reading %dx%d samples: %w", w, h, err)
	}
	if len(data) < w*h*bps {
		return nil, fmt.Errorf("pgm: reading %dx%d samples: %w", w, h, io.ErrUnexpectedEOF)
	}
	img := &image.Gray{Pix: data, Stride: w, Rect: image.Rect(0, 0, w, h)}
	switch {
	case bps == 2:
		for i := range w * h {
			v := min(int(data[2*i])<<8|int(data[2*i+1]), maxv)
			data[i] = byte(v * 255 / maxv)
		}
		img.Pix = data[:w*h]
	case maxv != 255:
		for i, v := range data {
			data[i] = byte(min(int(v), maxv) * 255 / maxv)
		}
	}
	return img, nil
}

// DecodePGMConfig reads only a PGM header.
func DecodePGMConfig(r io.Reader) (image.Config, error) {
	w, h, _, err := pgmHeader(bufio.NewReader(r))
	if err != nil {
		return image.Config{}, err
	}
	return image.Config{ColorModel: color.GrayModel, Width: w, Height: h}, nil
}

var errPGM = errors.New("pgm: not a binary (P5) graymap")

func pgmHeader(br *bufio.Reader) (w, h, maxv int, err error) {
	var magic [2]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil || magic != [2]byte{'P', '5'} {
		return 0, 0, 0, errPGM
	}
	var v [3]int
	for i := range v {
		if v[i], err = pgmInt(br); err != nil {
			return 0, 0, 0, err
		}
	}
	w, h, maxv = v[0], v[1], v[2]
	if w < 1 || h < 1 || w > maxPGMPixels || h > maxPGMPixels || w*h > maxPGMPixels {
		return 0, 0, 0, fmt.Errorf("pgm: unsupported size %dx%d", w, h)
	}
	if maxv < 1 || maxv > 65535 {
		return 0, 0, 0, fmt.Errorf("pgm: maxval %d out of range", maxv)
	}
	// Exactly one white space character separates the header from the data.
	c, err := br.ReadByte()
	if err != nil || !pgmSpace(c) {
		return 0, 0, 0, errPGM
	}
	return w, h, maxv, nil
}

// pgmInt reads a decimal number after white space and # comments.
func pgmInt(br *bufio.Reader) (int, error) {
	c, err := br.ReadByte()
	for err == nil && (pgmSpace(c) || c == '#') {
		if c == '#' {
			for err == nil && c != '\n' && c != '\r' {
				c, err = br.ReadByte()
			}
		}
		if err == nil {
			c, err = br.ReadByte()
		}
	}
	if err != nil {
		return 0, errPGM
	}
	n, digits := 0, 0
	for err == nil && '0' <= c && c <= '9' {
		if n > 1<<30 {
			return 0, errPGM
		}
		n = n*10 + int(c-'0')
		digits++
		c, err = br.ReadByte()
	}
	if digits == 0 {
		return 0, errPGM
	}
	if err == nil {
		if !pgmSpace(c) {
			return 0, errPGM
		}
		// The separator after the last number belongs to the header.
		_ = br.UnreadByte()
	}
	return n, nil
}

func pgmSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// EncodePGM writes a Frame's luminance as a binary PGM.
func EncodePGM(w io.Writer, f Frame) error {
	bw := bufio.NewWriter(w)
	if _, err := fmt.Fprintf(bw, "P5\n%d %d\n255\n", f.Width, f.Height); err != nil {
		return fmt.Errorf("pgm: writing header: %w", err)
	}
	for y := 0; y < f.Height; y++ {
		if _, err := bw.Write(f.Y[y*f.Stride : y*f.Stride+f.Width]); err != nil {
			return fmt.Errorf("pgm: writing row %d: %w", y, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("pgm: writing: %w", err)
	}
	return nil
}
