// Package imagebomb writes image files whose headers claim far more pixels
// than they hold, for the fault tests (tracker issue 17): a decoder that
// trusts the header allocates the whole image before reading a pixel. The
// files are made at test time, never committed.
package imagebomb

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"io"
)

// PNG is a PNG of a few dozen bytes whose IHDR says w×h, 16-bit RGBA (8
// bytes a pixel: 34 GB at 65535×65535), followed by one row's worth of
// deflate data.
func PNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6 // bit depth, colour type RGBA
	pngChunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte{0})
	zw.Close()
	pngChunk(&b, "IDAT", z.Bytes())
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	crc := crc32.NewIEEE()
	io.WriteString(crc, typ)
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc.Sum32())
}

// GIF is the 29-byte GIF of the report: a logical screen and one image
// descriptor of w×h (one byte a pixel), then nothing.
func GIF(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	b = append(b, 0x80, 0, 0)             // a 2-colour global table, background 0, no aspect
	b = append(b, 0, 0, 0, 255, 255, 255) // the table
	b = append(b, 0x2c, 0, 0, 0, 0)       // image descriptor at 0,0
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0)
}

// JPEG is a 16×16 grey baseline JPEG whose frame header (SOF0) is patched
// to say w×h: what a corrupt MJPEG frame from a camera can look like.
func JPEG(w, h uint16) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		panic(fmt.Sprintf("imagebomb: encoding the base JPEG: %v", err))
	}
	out := b.Bytes()
	i := bytes.Index(out, []byte{0xff, 0xc0})
	if i < 0 {
		panic("imagebomb: the base JPEG has no SOF0")
	}
	// SOF0: marker, length (2), precision (1), height (2), width (2).
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

// PGM is a binary PGM header of w×h, with no samples.
func PGM(w, h int) []byte {
	return fmt.Appendf(nil, "P5\n%d %d\n255\n", w, h)
}

// WritePlainPNG writes a real, valid w×h 8-bit grey PNG (all white) to out:
// small on disk (deflate compresses the rows about 1000:1) but w×h bytes
// once decoded. Rows are streamed, so making it costs no memory.
func WritePlainPNG(out io.Writer, w, h uint32) error {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grey
	pngChunk(&b, "IHDR", ihdr)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	row := bytes.Repeat([]byte{0xff}, int(w)+1)
	row[0] = 0 // filter: none
	for range h {
		if _, err := zw.Write(row); err != nil {
			return err
		}
		// Keep the buffer small: flush full IDAT chunks as they come.
		if z.Len() > 1<<20 {
			pngChunk(&b, "IDAT", z.Next(z.Len()))
			if _, err := out.Write(b.Next(b.Len())); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	pngChunk(&b, "IDAT", z.Bytes())
	pngChunk(&b, "IEND", nil)
	_, err := out.Write(b.Bytes())
	return err
}
