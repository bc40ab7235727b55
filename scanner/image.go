package scanner

import (
	"image"
	"image/color"
	// Formats DecodeImage callers can read with image.Decode; PGM is
	// registered in pgm.go.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"time"
)

// DecodeImage decodes a still image with d, the same way a camera frame is
// decoded: the image is reduced to its luminance first. It is what
// `kioskd decode` runs on PGM, PNG, JPEG and GIF files.
func DecodeImage(d *Decoder, img image.Image) (string, bool) {
	f := FrameFromImage(img, nil)
	// Still images are unrelated to each other: where the last one had its
	// code says nothing about this one.
	d.ForgetRegion()
	return d.Decode(f)
}

// FrameFromImage returns img's luminance as a Frame. Grey and YCbCr images
// are used in place; others are converted into buf (grown when too small).
func FrameFromImage(img image.Image, buf []byte) Frame {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	f := Frame{Width: w, Height: h, Stride: w, Time: time.Time{}}
	if w <= 0 || h <= 0 {
		return f
	}
	switch m := img.(type) {
	case *image.Gray:
		f.Y = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):]
		f.Stride = m.Stride
		return f
	case *image.YCbCr:
		f.Y = m.Y[m.YOffset(b.Min.X, b.Min.Y):]
		f.Stride = m.YStride
		return f
	}
	if cap(buf) < w*h {
		buf = make([]byte, w*h)
	}
	buf = buf[:w*h]
	switch m := img.(type) {
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4]
				// Transparent pixels are shown on white, as a screen would.
				buf[y*w+x] = onWhite(luma(p[0], p[1], p[2]), p[3])
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4]
				// Premultiplied: add the white showing through.
				buf[y*w+x] = byte(min(int(luma(p[0], p[1], p[2]))+255-int(p[3]), 255))
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				l := color.GrayModel.Convert(color.RGBA64{R: uint16(r), G: uint16(g), B: uint16(bl), A: 0xffff}).(color.Gray).Y
				buf[y*w+x] = byte(min(int(l)+int(0xffff-a)>>8, 255))
			}
		}
	}
	f.Y = buf
	return f
}

// luma is ITU-R BT.601 luminance, the Y a camera delivers.
func luma(r, g, b byte) byte {
	return byte((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

func onWhite(l, a byte) byte {
	return byte((uint32(l)*uint32(a) + 255*(255-uint32(a)) + 127) / 255)
}
