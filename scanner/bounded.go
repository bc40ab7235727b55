package scanner

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
)

// ErrImageTooLarge is returned for an image whose header claims more pixels
// than the cap (config camera.max_image_pixels). The decoders allocate the
// whole image from the header's size before reading any pixel, so a PNG or
// GIF of a few dozen bytes claiming 65535×65535 asks for gigabytes: the size
// is checked from the header alone (image.DecodeConfig) first.
var ErrImageTooLarge = errors.New("image too large")

// decodeBounded decodes the image in r (any registered format: PGM, PNG,
// JPEG, GIF) if its header's width×height is at most maxPixels (<= 0: the
// default cap, DefaultMaxImagePixels).
func decodeBounded(r io.ReadSeeker, maxPixels int) (image.Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxImagePixels
	}
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return nil, err
	}
	if err := checkPixels(format, cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, err
	}
	// The decoders size the image from the same header; should one ever
	// not, the result is still refused rather than passed on.
	b := img.Bounds()
	if err := checkPixels(format, b.Dx(), b.Dy(), maxPixels); err != nil {
		return nil, err
	}
	return img, nil
}

// checkPixels refuses a w×h image over maxPixels. The product is taken in
// 64 bits: 65535×65535 overflows a 32-bit int (armv6/armv7 Pi OS).
func checkPixels(format string, w, h, maxPixels int) error {
	if int64(w)*int64(h) > int64(maxPixels) {
		return fmt.Errorf("%s header says %dx%d, over the cap of %d pixels (camera.max_image_pixels): %w",
			format, w, h, maxPixels, ErrImageTooLarge)
	}
	return nil
}

// decodeBoundedBytes is decodeBounded over a buffer (an MJPEG frame).
func decodeBoundedBytes(b []byte, maxPixels int) (image.Image, error) {
	return decodeBounded(bytes.NewReader(b), maxPixels)
}
