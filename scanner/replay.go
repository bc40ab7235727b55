package scanner

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// replay is a Source that shows image files as camera frames.
type replay struct {
	files     []string
	fps       int
	loop      bool
	maxPixels int
	desc      string
	o         SourceOptions
}

var replayExts = map[string]bool{".pgm": true, ".png": true, ".jpg": true, ".jpeg": true, ".gif": true}

func newReplay(cfg Camera, o SourceOptions) (*replay, error) {
	r := &replay{fps: max(cfg.FPS, 1), loop: cfg.Loop, maxPixels: cfg.MaxImagePixels, o: o}
	if p, ok := strings.CutPrefix(cfg.Source, "file:"); ok {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("scanner: opening replay file: %w", err)
		}
		r.files = []string{p}
	} else {
		dir := strings.TrimPrefix(cfg.Source, "dir:")
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("scanner: opening replay directory: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() && replayExts[strings.ToLower(filepath.Ext(e.Name()))] {
				r.files = append(r.files, filepath.Join(dir, e.Name()))
			}
		}
		sort.Strings(r.files)
		if len(r.files) == 0 {
			return nil, fmt.Errorf("scanner: replay directory %s holds no .pgm, .png, .jpg or .gif images", dir)
		}
	}
	r.desc = fmt.Sprintf("replay %s (%d images) @%dfps", cfg.Source, len(r.files), r.fps)
	if r.loop {
		r.desc += " loop"
	}
	return r, nil
}

func (r *replay) Describe() string { return r.desc }

// Run shows each image in turn at the configured rate, like a camera that
// captures image i at start+i/fps whether or not anyone is reading. When the
// callback takes longer than a frame period, the images whose time passed
// meanwhile are dropped (a gap in Frame.Seq) and the one due now is shown
// next, so a slow decoder never works through a backlog of old pictures. The
// last image of a replay that does not loop is always shown. With
// SourceOptions.EveryImage every image is shown, late if need be. An image that
// cannot be read is logged and skipped; Run fails only if none can be.
func (r *replay) Run(ctx context.Context, fn func(Frame)) error {
	log := r.o.logger()
	r.o.state(State{Up: true, Detail: r.desc})
	defer r.o.state(State{Up: false, Detail: "replay ended"})
	period := time.Second / time.Duration(r.fps)
	n := len(r.files)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	var (
		buf         []byte
		shown       int
		failedInRow int
		seq         uint64 // frames delivered or dropped; an unreadable image is neither
		dropped     uint64 // dropped since the last delivery
	)
	start := time.Now()
	// next is the index in the schedule: slot i shows files[i%n] at start+i*period.
	for next := 0; r.loop || next < n; next++ {
		due := start.Add(time.Duration(next) * period)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return nil
		}
		// The newest slot whose time has come: the ones before it passed
		// while the callback ran, and a camera would have overwritten them.
		if now := int(time.Since(start) / period); now > next && r.o.EveryImage {
			// A slideshow late by a period or more starts its schedule over
			// from this image: the rest keep a full period apart.
			start = time.Now().Add(-time.Duration(next) * period)
			due = start.Add(time.Duration(next) * period)
		} else if now > next {
			if !r.loop {
				now = min(now, n-1)
			}
			dropped += uint64(now - next)
			next = now
			due = start.Add(time.Duration(next) * period)
		}
		name := r.files[next%n]
		img, err := loadImageFile(name, r.maxPixels)
		if err != nil {
			log.Warn("replay: skipping image", "file", name, "err", err)
			if failedInRow++; failedInRow >= n {
				return fmt.Errorf("scanner: replay: none of %d images could be read", n)
			}
			continue
		}
		failedInRow = 0
		f := FrameFromImage(img, buf)
		if _, ok := img.(*image.Gray); !ok {
			if _, ok := img.(*image.YCbCr); !ok {
				buf = f.Y // keep the conversion buffer for the next image
			}
		}
		seq += dropped + 1
		dropped = 0
		f.Seq = seq
		f.Time = due // when this camera "captured" it
		fn(f)
		shown++
	}
	if shown == 0 {
		return fmt.Errorf("scanner: replay: none of %d images could be read", n)
	}
	return nil
}

// loadImageFile decodes a PGM, PNG, JPEG or GIF file of at most maxPixels
// (ErrImageTooLarge otherwise, found from the header before decoding).
func loadImageFile(name string, maxPixels int) (image.Image, error) {
	// Non-blocking, and checked on the open file: a FIFO named like an image
	// would otherwise block the lane for ever waiting for a writer.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", filepath.Base(name))
	}
	img, err := decodeBounded(f, maxPixels)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", filepath.Base(name), err)
	}
	return img, nil
}

// LoadImage reads an image file (PGM, PNG, JPEG, GIF) of at most maxPixels
// (config camera.max_image_pixels): what `kioskd decode` passes to
// DecodeImage. A larger one is refused from its header with
// ErrImageTooLarge, before anything is allocated for it.
func LoadImage(name string, maxPixels int) (image.Image, error) {
	img, err := loadImageFile(name, maxPixels)
	if err != nil {
		return nil, fmt.Errorf("scanner: loading image: %w", err)
	}
	return img, nil
}
