package scanner

import (
	"fmt"
	"log/slog"
	"strings"
)

// Camera is what a source is opened with (kioskd's camera: section).
type Camera struct {
	// Source is a V4L2 device (/dev/video0), or dir:PATH / file:PATH to
	// replay images.
	Source string
	// Width, Height and FPS are asked of the device (the nearest size it
	// offers is taken); FPS is a replay's rate too.
	Width, Height, FPS int
	// Format is auto, GREY, YUYV or MJPEG.
	Format string
	// Buffers is the V4L2 buffer count: small, so the newest frame is what
	// gets decoded.
	Buffers int
	// Loop makes a replay start over at the end.
	Loop bool
	// Controls are V4L2 controls set each time the device is opened, by
	// name or hex id; a replay ignores them.
	Controls map[string]int64
	// MaxImagePixels caps width×height of an image file or an MJPEG frame,
	// read from its header before decoding; 0 = DefaultMaxImagePixels.
	MaxImagePixels int
}

// DefaultMaxImagePixels is 16 MP (4096×4096): above any phone photo of a
// code or a camera frame kioskd reads, and at most 128 MB for the widest
// (16-bit RGBA) decoded image.
const DefaultMaxImagePixels = 4096 * 4096

// SourceOptions are a Source's dependencies.
type SourceOptions struct {
	// Logger receives faults and format negotiation; nil discards.
	Logger *slog.Logger
	// OnState is called on every change of the source's health (camera up
	// with what the driver set, or down with the fault). It is called from
	// the goroutine running Run; nil ignores.
	OnState func(State)
	// EveryImage makes a replay source show every image in turn however
	// long the callback takes, like a slideshow, instead of dropping the
	// images whose time passed as a camera would (kioskd demo's script).
	EveryImage bool
}

func (o SourceOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o SourceOptions) state(s State) {
	if o.OnState != nil {
		o.OnState(s)
	}
}

// Open returns the source cfg.Source names: a V4L2 device (/dev/videoN),
// or a replay of image files (dir:PATH, every .pgm/.png/.jpg/.jpeg/.gif in
// PATH in name order; file:PATH, one image) at cfg.FPS, looping if
// cfg.Loop. Opening a V4L2 source does not touch the device: Run opens it,
// and keeps reopening it while it is away.
func Open(cfg Camera, o SourceOptions) (Source, error) {
	switch {
	case strings.HasPrefix(cfg.Source, "dir:"), strings.HasPrefix(cfg.Source, "file:"):
		return newReplay(cfg, o)
	case strings.HasPrefix(cfg.Source, "/dev/"):
		return newV4L2(cfg, o)
	}
	return nil, fmt.Errorf("scanner: opening camera source %q: want /dev/videoN, dir:PATH or file:PATH", cfg.Source)
}
