// Package v4lout feeds frames into a v4l2loopback device from the output
// (writer) side, so that a capture program on the same device node sees them
// as if they came from a camera.
//
// The protocol is the simplest one v4l2loopback accepts: VIDIOC_QUERYCAP,
// VIDIOC_S_FMT on the OUTPUT buffer type to fix the format, VIDIOC_STREAMON,
// then one write() per whole frame. With
// the module loaded with exclusive_caps=1, the capture side of the device
// exists only while a writer holds it open and has set a format, so closing
// the Writer looks like a camera being unplugged to the reader.
//
// Only YUYV (4:2:2, two bytes per pixel) is produced: it is what cheap UVC
// webcams deliver and what kioskd's scanner de-interleaves.
package v4lout

import (
	"fmt"
	"image"
	"os"
	"unsafe"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/sys/unix"
)

// Kernel constants from linux/videodev2.h.
const (
	bufTypeVideoOutput = 2
	fieldNone          = 1
	colorspaceSRGB     = 8
	// PixYUYV is V4L2_PIX_FMT_YUYV, fourcc 'YUYV'.
	PixYUYV = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
)

// v4l2Format mirrors struct v4l2_format for the pix member of its union. The
// union holds a pointer in one member (struct v4l2_window), so on 64-bit it
// starts at offset 8 and the struct is 208 bytes; on 32-bit at offset 4, 204
// bytes. Go's layout rules give the same padding when the union is spelled
// as uintptr-aligned storage.
type v4l2Format struct {
	typ uint32
	fmt struct {
		_   [0]uintptr // alignment of the union, as in C
		pix v4l2PixFormat
		_   [200 - unsafe.Sizeof(v4l2PixFormat{})]byte
	}
}

type v4l2PixFormat struct {
	width, height, pixelformat, field uint32
	bytesperline, sizeimage           uint32
	colorspace, priv, flags, ycbcrEnc uint32
	quantization, xferFunc            uint32
}

// vidiocSFmt is _IOWR('V', 5, struct v4l2_format): the size is part of the
// request number, so it differs between 32- and 64-bit builds.
var vidiocSFmt = uintptr(3<<30 | uint32(unsafe.Sizeof(v4l2Format{}))<<16 | 'V'<<8 | 5)

// vidiocQueryCap is _IOR('V', 0, struct v4l2_capability), 104 bytes.
const vidiocQueryCap uintptr = 2<<30 | 104<<16 | 'V'<<8 // request number 0

// vidiocStreamOn is _IOW('V', 18, int).
const vidiocStreamOn uintptr = 1<<30 | 4<<16 | 'V'<<8 | 18

// Writer is an open output side of a v4l2loopback device.
type Writer struct {
	f             *os.File
	width, height int
}

// Open opens dev for writing frames of width x height YUYV.
func Open(dev string, width, height int) (*Writer, error) {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s for output: %w", dev, err)
	}
	ioctl := func(req uintptr, arg unsafe.Pointer) error {
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, uintptr(arg)); e != 0 {
			return e
		}
		return nil
	}
	// v4l2loopback 0.12 recomputes the capabilities the V4L2 core checks
	// S_FMT against only in QUERYCAP, so ask first, as ffmpeg and GStreamer do.
	var capability [104]byte
	if err := ioctl(vidiocQueryCap, unsafe.Pointer(&capability[0])); err != nil {
		f.Close()
		return nil, fmt.Errorf("VIDIOC_QUERYCAP on %s: %w", dev, err)
	}
	var v v4l2Format
	v.typ = bufTypeVideoOutput
	v.fmt.pix = v4l2PixFormat{
		width: uint32(width), height: uint32(height), pixelformat: PixYUYV, field: fieldNone,
		bytesperline: uint32(width * 2), sizeimage: uint32(width * height * 2), colorspace: colorspaceSRGB,
	}
	if err := ioctl(vidiocSFmt, unsafe.Pointer(&v)); err != nil {
		f.Close()
		caps := *(*uint32)(unsafe.Pointer(&capability[84]))
		return nil, fmt.Errorf("VIDIOC_S_FMT on %s (output, YUYV %dx%d; device caps %#x): %w", dev, width, height, caps, err)
	}
	// write() alone never marks the opener as the writer in v4l2loopback
	// 0.12.7, so closing it would not give the output capability back and
	// the next writer could not set a format: STREAMON on the output type
	// does mark it.
	typ := uint32(bufTypeVideoOutput)
	if err := ioctl(vidiocStreamOn, unsafe.Pointer(&typ)); err != nil {
		f.Close()
		return nil, fmt.Errorf("VIDIOC_STREAMON on %s (output): %w", dev, err)
	}
	return &Writer{f: f, width: width, height: height}, nil
}

// FrameSize is the number of bytes of one YUYV frame.
func (w *Writer) FrameSize() int { return w.width * w.height * 2 }

// Write hands one whole YUYV frame to the driver.
func (w *Writer) Write(frame []byte) error {
	if len(frame) != w.FrameSize() {
		return fmt.Errorf("frame is %d bytes, want %d", len(frame), w.FrameSize())
	}
	if _, err := w.f.Write(frame); err != nil {
		return fmt.Errorf("writing frame: %w", err)
	}
	return nil
}

// Close releases the output side; with exclusive_caps=1 the capture side
// disappears with it.
func (w *Writer) Close() error { return w.f.Close() }

// Blank returns a mid-grey YUYV frame with no code in it.
func Blank(width, height int) []byte {
	f := make([]byte, width*height*2)
	for i := 0; i < len(f); i += 2 {
		f[i], f[i+1] = 160, 128
	}
	return f
}

// QR renders text as a QR code centred on a white YUYV frame, the code
// side taking size pixels (quiet zone included).
func QR(text string, width, height, size int) ([]byte, error) {
	hints := map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 4}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, size, size, hints)
	if err != nil {
		return nil, fmt.Errorf("encoding QR: %w", err)
	}
	f := make([]byte, width*height*2)
	for i := 0; i < len(f); i += 2 {
		f[i], f[i+1] = 235, 128 // white, neutral chroma
	}
	ox, oy := (width-m.GetWidth())/2, (height-m.GetHeight())/2
	r := image.Rect(0, 0, width, height)
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			if !m.Get(x, y) || !image.Pt(ox+x, oy+y).In(r) {
				continue
			}
			f[((oy+y)*width+ox+x)*2] = 16 // black luma
		}
	}
	return f, nil
}
