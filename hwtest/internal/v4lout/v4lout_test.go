package v4lout

import (
	"strconv"
	"testing"
	"unsafe"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// The kernel's struct v4l2_format is 208 bytes on 64-bit and 204 on 32-bit,
// and the size is part of the VIDIOC_S_FMT request number.
func TestFormatLayout(t *testing.T) {
	want := uintptr(204)
	if strconv.IntSize == 64 {
		want = 208
	}
	if got := unsafe.Sizeof(v4l2Format{}); got != want {
		t.Fatalf("sizeof(v4l2Format) = %d, want %d", got, want)
	}
	if off := unsafe.Offsetof(v4l2Format{}.fmt); off != want-200 {
		t.Fatalf("union offset = %d, want %d", off, want-200)
	}
	if strconv.IntSize == 64 && vidiocSFmt != 0xc0d05605 {
		t.Fatalf("VIDIOC_S_FMT = %#x, want 0xc0d05605", vidiocSFmt)
	}
	if vidiocQueryCap != 0x80685600 || vidiocStreamOn != 0x40045612 {
		t.Fatalf("QUERYCAP %#x STREAMON %#x", vidiocQueryCap, vidiocStreamOn)
	}
}

// A rendered frame's luma plane decodes back to the text, and a blank frame
// decodes to nothing.
func TestQRRoundTrip(t *testing.T) {
	const w, h = 640, 480
	for _, tc := range []struct {
		name, text string
		blank      bool
	}{
		{"code", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false},
		{"url", "https://example.com/menu", false},
		{"blank", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f []byte
			if tc.blank {
				f = Blank(w, h)
			} else {
				var err error
				if f, err = QR(tc.text, w, h, 300); err != nil {
					t.Fatal(err)
				}
			}
			if len(f) != w*h*2 {
				t.Fatalf("frame is %d bytes", len(f))
			}
			y := make([]byte, w*h)
			for i := range y {
				y[i] = f[2*i]
			}
			src, err := gozxing.NewPlanarYUVLuminanceSource(y, w, h, 0, 0, w, h, false)
			if err != nil {
				t.Fatal(err)
			}
			bmp, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
			res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
			if tc.blank {
				if err == nil {
					t.Fatalf("blank frame decoded to %q", res.GetText())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.GetText() != tc.text {
				t.Fatalf("decoded %q, want %q", res.GetText(), tc.text)
			}
		})
	}
}
