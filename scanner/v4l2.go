//go:build linux

package scanner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kioskd/kioskd/internal/backoff"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"
)

// Reconnection: first retry soon (a replugged camera is back in about a
// second), then back off to a few seconds so a missing camera costs nothing.
const (
	retryMin = 500 * time.Millisecond
	retryMax = 8 * time.Second
	// stallTimeouts is how many one-second waits without a frame make a
	// streaming camera count as gone (some drivers stall instead of failing).
	stallTimeouts = 3
)

// v4l2 is a Source reading a V4L2 capture device with
// github.com/blackjack/webcam, memory-mapped, with few buffers so that the
// frame decoded is the newest.
type v4l2 struct {
	cfg Camera
	o   SourceOptions

	mu   sync.Mutex
	desc string

	y []byte // luminance of a YUYV frame, reused
}

func newV4L2(cfg Camera, o SourceOptions) (*v4l2, error) {
	return &v4l2{cfg: cfg, o: o, desc: cfg.Source + " (not opened yet)"}, nil
}

func (s *v4l2) Describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.desc
}

func (s *v4l2) setDesc(d string) {
	s.mu.Lock()
	s.desc = d
	s.mu.Unlock()
}

// Run captures until ctx ends. A camera that cannot be opened, goes away
// (ENODEV), or stops delivering is reported down, closed, and reopened with
// a capped backoff; every attempt closes what it opened.
func (s *v4l2) Run(ctx context.Context, fn func(Frame)) error {
	log := s.o.logger()
	bo := backoff.Retry{Policy: backoff.Policy{Min: retryMin, Max: retryMax}}
	var seq uint64
	up, lastErr := false, ""
	for ctx.Err() == nil {
		err := s.session(ctx, fn, &seq, func(detail string) {
			up = true
			bo.Reset()
			s.setDesc(detail)
			log.Info("camera up", "source", s.cfg.Source, "detail", detail)
			s.o.state(State{Up: true, Detail: detail})
		})
		if ctx.Err() != nil {
			break
		}
		d := bo.Next()
		// Report the fault once per change, not on every retry.
		if msg := fmt.Sprint(err); up || msg != lastErr {
			log.Warn("camera down", "source", s.cfg.Source, "err", err, "retry_in", d)
			s.o.state(State{Up: false, Detail: fmt.Sprintf("%s: %v", s.cfg.Source, err), Err: err})
			up, lastErr = false, msg
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

// session opens and configures the camera, then delivers frames until an
// error or the end of ctx. The camera is closed when it returns.
func (s *v4l2) session(ctx context.Context, fn func(Frame), seq *uint64, onUp func(string)) (err error) {
	cam, err := webcam.Open(s.cfg.Source)
	if err != nil {
		// With v4l2loopback exclusive_caps=1 the device exists only while a
		// writer is active: a failed open is "camera down", not fatal.
		return fmt.Errorf("opening: %w", err)
	}
	defer cam.Close()

	formats := cam.GetSupportedFormats()
	offered := make([]fourCC, 0, len(formats))
	for f := range formats {
		offered = append(offered, fourCC(f))
	}
	pf, err := chooseFormat(s.cfg.Format, offered)
	if err != nil {
		return fmt.Errorf("choosing a pixel format: %w", err)
	}
	sizes := listSizes(cam, pf)
	w, h := chooseSize(sizes, s.cfg.Width, s.cfg.Height)
	got, _, _, err := cam.SetImageFormat(webcam.PixelFormat(pf), uint32(w), uint32(h))
	if err != nil {
		return fmt.Errorf("setting format %v %dx%d: %w", pf, w, h, err)
	}
	if fourCC(got) != pf {
		return fmt.Errorf("asked for %v, the driver set %v", pf, fourCC(got))
	}
	if err := cam.SetBufferCount(uint32(max(s.cfg.Buffers, 2))); err != nil {
		return fmt.Errorf("setting buffer count: %w", err)
	}
	// After the format: some drivers reset controls when it changes. On
	// every open, so a replugged camera gets them back.
	ctrlSet, ctrlAsked := applyControls(cam, s.cfg.Controls, s.cfg.Source, s.o.logger())
	// Not every driver takes a rate (v4l2loopback follows its writer).
	rateErr := cam.SetFramerate(float32(s.cfg.FPS))
	rate, _ := cam.GetFramerate()
	if err := cam.StartStreaming(); err != nil {
		return fmt.Errorf("starting to stream: %w", err)
	}

	timeouts := 0
	announced := false
	for ctx.Err() == nil {
		// WaitForFrame takes whole seconds; one second bounds how long a
		// cancelled ctx waits.
		if err := cam.WaitForFrame(1); err != nil {
			var to *webcam.Timeout
			if errors.As(err, &to) {
				timeouts++
				if timeouts >= stallTimeouts {
					return fmt.Errorf("no frame for %d s", timeouts)
				}
				continue
			}
			return fmt.Errorf("waiting for a frame: %w", err)
		}
		buf, idx, drained, err := newestFrame(cam)
		// The capture time: webcam v0.6.1 does not hand out the buffer's
		// timestamp, so the moment the newest buffer was dequeued, before
		// any conversion, stands for it.
		captured := time.Now()
		if errors.Is(err, unix.EAGAIN) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading a frame: %w", err)
		}
		timeouts = 0
		// Frames drained unseen leave a gap in Seq: the pipeline counts them dropped.
		*seq += uint64(drained) + 1
		f, ferr := s.frame(pf, buf, w, h, sizes)
		if ferr == nil && f.Y != nil && !announced {
			announced = true
			detail := fmt.Sprintf("%s %v %dx%d @%gfps, %d buffers", s.cfg.Source, pf, f.Width, f.Height, rate, max(s.cfg.Buffers, 2))
			if rateErr != nil {
				detail += fmt.Sprintf(" (rate %d not set: %v)", s.cfg.FPS, rateErr)
			}
			if ctrlAsked > 0 {
				detail += fmt.Sprintf(", %d of %d controls set", ctrlSet, ctrlAsked)
			}
			onUp(detail)
		}
		if ferr == nil && f.Y != nil { // nil: a torn MJPEG frame, skipped
			f.Seq = *seq
			f.Time = captured
			fn(f)
		}
		// Hand the buffer back only now: GREY frames were read in place.
		if rerr := cam.ReleaseFrame(idx); rerr != nil {
			return fmt.Errorf("releasing a frame: %w", rerr)
		}
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

// newestFrame dequeues every frame that is ready and keeps only the last,
// so that decoding always works on the newest and never falls behind. It
// also returns how many older frames it handed back unseen.
func newestFrame(cam frameQueue) ([]byte, uint32, int, error) {
	buf, idx, err := cam.GetFrame()
	if err != nil {
		return nil, 0, 0, err
	}
	drained := 0
	for {
		nb, ni, err := cam.GetFrame()
		if err != nil {
			// EAGAIN: nothing newer. Anything else shows up next time.
			return buf, idx, drained, nil
		}
		if rerr := cam.ReleaseFrame(idx); rerr != nil {
			_ = cam.ReleaseFrame(ni)
			return nil, 0, 0, rerr
		}
		buf, idx = nb, ni
		drained++
	}
}

// frameQueue is the part of *webcam.Webcam that newestFrame uses.
type frameQueue interface {
	GetFrame() ([]byte, uint32, error)
	ReleaseFrame(index uint32) error
}

// frame turns a captured buffer into a Frame without allocating for GREY
// and YUYV; MJPEG goes through image/jpeg (which allocates).
func (s *v4l2) frame(pf fourCC, buf []byte, w, h int, sizes []frameSize) (Frame, error) {
	if pf == fmtMJPEG {
		// The frame's own header sizes the decode: a corrupt one claiming
		// 65535×65535 is refused like a torn frame, before the allocation.
		img, err := decodeBoundedBytes(buf, s.cfg.MaxImagePixels)
		if err != nil {
			// A torn MJPEG frame happens; skip it rather than reopen.
			if errors.Is(err, ErrImageTooLarge) {
				s.o.logger().Debug("camera: skipping an MJPEG frame", "err", err)
			}
			return Frame{}, nil
		}
		return FrameFromImage(img, nil), nil
	}
	fw, fh, bpl, bpp, err := frameLayout(pf, len(buf), w, h, sizes)
	if err != nil {
		return Frame{}, err
	}
	if bpp == 1 {
		return Frame{Y: buf, Width: fw, Height: fh, Stride: bpl}, nil
	}
	if cap(s.y) < fw*fh {
		s.y = make([]byte, fw*fh)
	}
	s.y = s.y[:fw*fh]
	yuyvLuma(s.y, buf, fw, fh, bpl)
	return Frame{Y: s.y, Width: fw, Height: fh, Stride: fw}, nil
}

func listSizes(cam *webcam.Webcam, pf fourCC) []frameSize {
	var out []frameSize
	for _, s := range cam.GetSupportedFrameSizes(webcam.PixelFormat(pf)) {
		out = append(out, frameSize{
			minW: int(s.MinWidth), maxW: int(s.MaxWidth), stepW: int(s.StepWidth),
			minH: int(s.MinHeight), maxH: int(s.MaxHeight), stepH: int(s.StepHeight),
		})
	}
	return out
}
