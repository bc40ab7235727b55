package kiosk

import (
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/scanner"
)

// Preview keeps a copy of a recent frame for the status page's camera view,
// so an installer can aim and focus the camera. It copies frames only while
// someone has looked at the preview in the last minute, and at most twice a
// second, so an unwatched kiosk pays nothing per frame.
type Preview struct {
	mu        stdsync.Mutex
	img       *image.Gray
	copied    time.Time
	requested time.Time
}

const (
	previewEvery  = 500 * time.Millisecond
	previewLinger = time.Minute
)

// Frame takes a copy of f when the preview is being watched.
func (p *Preview) Frame(f scanner.Frame) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.requested.IsZero() || now.Sub(p.requested) > previewLinger || now.Sub(p.copied) < previewEvery {
		return
	}
	if p.img == nil || p.img.Rect.Dx() != f.Width || p.img.Rect.Dy() != f.Height {
		p.img = image.NewGray(image.Rect(0, 0, f.Width, f.Height))
	}
	for y := 0; y < f.Height; y++ {
		copy(p.img.Pix[y*p.img.Stride:y*p.img.Stride+f.Width], f.Y[y*f.Stride:])
	}
	p.copied = now
}

// ErrNoFrame is WriteJPEG's error before the first frame was kept.
var ErrNoFrame = errors.New("no camera frame yet")

// WriteJPEG encodes the latest kept frame to w, or returns ErrNoFrame.
func (p *Preview) WriteJPEG(w io.Writer) error {
	p.mu.Lock()
	p.requested = time.Now()
	var img *image.Gray
	if p.img != nil {
		// Encode a private copy: the next frame may overwrite p.img.
		img = &image.Gray{Pix: append([]byte(nil), p.img.Pix...), Stride: p.img.Stride, Rect: p.img.Rect}
	}
	p.mu.Unlock()
	if img == nil {
		return ErrNoFrame
	}
	if err := jpeg.Encode(w, img, &jpeg.Options{Quality: 80}); err != nil {
		return fmt.Errorf("encoding the preview: %w", err)
	}
	return nil
}
