//go:build linux

package scanner

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kioskd/kioskd/scanner/internal/synth"
)

// TestV4L2FrameFormats runs captured buffers of each format through the
// conversion the capture loop uses, and decodes the result.
func TestV4L2FrameFormats(t *testing.T) {
	img := render(t, synth.Scene{Text: testCode, Size: 220, Noise: 2, Seed: 11})
	w, h := img.Rect.Dx(), img.Rect.Dy()
	yuyv := make([]byte, w*h*2)
	for i, v := range img.Pix {
		yuyv[2*i], yuyv[2*i+1] = v, 128
	}
	var jb bytes.Buffer
	ycc := image.NewYCbCr(img.Rect, image.YCbCrSubsampleRatio420)
	copy(ycc.Y, img.Pix)
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = 128, 128
	}
	if err := jpeg.Encode(&jb, ycc, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	s := &v4l2{}
	for _, tc := range []struct {
		name string
		f    fourCC
		buf  []byte
	}{
		{"GREY", fmtGREY, img.Pix},
		{"YUYV", fmtYUYV, yuyv},
		{"MJPEG", fmtMJPEG, jb.Bytes()},
	} {
		f, err := s.frame(tc.f, tc.buf, w, h, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if f.Width != w || f.Height != h {
			t.Fatalf("%s: %dx%d", tc.name, f.Width, f.Height)
		}
		if got, ok := NewDecoder(DecoderOptions{}).Decode(f); !ok || got != testCode {
			t.Errorf("%s: decoded %q, %v", tc.name, got, ok)
		}
	}
	// A torn MJPEG frame is skipped, not an error that reopens the camera.
	if f, err := s.frame(fmtMJPEG, jb.Bytes()[:100], w, h, nil); err != nil || f.Y != nil {
		t.Errorf("torn MJPEG: %v, %d bytes", err, len(f.Y))
	}
	// A raw frame of a size nobody asked for is an error.
	if _, err := s.frame(fmtYUYV, yuyv[:1000], w, h, nil); err == nil {
		t.Error("short YUYV frame accepted")
	}
	yuyvAllocs := testing.AllocsPerRun(10, func() { _, _ = s.frame(fmtYUYV, yuyv, w, h, nil) })
	greyAllocs := testing.AllocsPerRun(10, func() { _, _ = s.frame(fmtGREY, img.Pix, w, h, nil) })
	if yuyvAllocs != 0 || greyAllocs != 0 {
		t.Errorf("allocations per frame: YUYV %v, GREY %v", yuyvAllocs, greyAllocs)
	}
}

// fakeQueue is a driver queue holding ready frames, oldest first.
type fakeQueue struct {
	ready    []uint32
	released []uint32
}

func (q *fakeQueue) GetFrame() ([]byte, uint32, error) {
	if len(q.ready) == 0 {
		return nil, 0, unix.EAGAIN
	}
	i := q.ready[0]
	q.ready = q.ready[1:]
	return []byte{byte(i)}, i, nil
}

func (q *fakeQueue) ReleaseFrame(i uint32) error {
	q.released = append(q.released, i)
	return nil
}

// TestNewestFrameCountsDrained: frames that piled up in the driver while
// the last one was decoded are handed back unseen, and counted, so the
// capture loop can leave a gap in Seq that the pipeline reports as dropped.
func TestNewestFrameCountsDrained(t *testing.T) {
	for _, tc := range []struct {
		ready   []uint32
		want    uint32
		drained int
	}{
		{[]uint32{3}, 3, 0},
		{[]uint32{0, 1}, 1, 1},
		{[]uint32{2, 3, 0, 1}, 1, 3},
	} {
		q := &fakeQueue{ready: tc.ready}
		buf, idx, drained, err := newestFrame(q)
		if err != nil || idx != tc.want || buf[0] != byte(tc.want) || drained != tc.drained {
			t.Errorf("%v: got buffer %d, %d drained, %v; want %d, %d", tc.ready, idx, drained, err, tc.want, tc.drained)
		}
		if len(q.released) != tc.drained {
			t.Errorf("%v: released %v; want the %d older ones back to the driver", tc.ready, q.released, tc.drained)
		}
	}
	if _, _, _, err := newestFrame(&fakeQueue{}); !errors.Is(err, unix.EAGAIN) {
		t.Errorf("empty queue: %v, want EAGAIN", err)
	}
}
