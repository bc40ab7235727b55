package scanner

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kioskd/kioskd/config"
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

func newReplay(cfg config.Camera, o SourceOptions) (*replay, error) {
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

// Run shows each image in turn at the configured rate. An image that cannot
// be read is logged and skipped; Run fails only if none can be.
func (r *replay) Run(ctx context.Context, fn func(Frame)) error {
	log := r.o.logger()
	r.o.state(State{Up: true, Detail: r.desc})
	defer r.o.state(State{Up: false, Detail: "replay ended"})
	tick := time.NewTicker(time.Second / time.Duration(r.fps))
	defer tick.Stop()
	var (
		buf []byte
		seq uint64
	)
	for {
		shown := 0
		for _, name := range r.files {
			img, err := loadImageFile(name, r.maxPixels)
			if err != nil {
				log.Warn("replay: skipping image", "file", name, "err", err)
				continue
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			f := FrameFromImage(img, buf)
			if _, ok := img.(*image.Gray); !ok {
				if _, ok := img.(*image.YCbCr); !ok {
					buf = f.Y // keep the conversion buffer for the next image
				}
			}
			seq++
			f.Seq = seq
			f.Time = time.Now()
			fn(f)
			shown++
		}
		if shown == 0 {
			return fmt.Errorf("scanner: replay: none of %d images could be read", len(r.files))
		}
		if !r.loop {
			return nil
		}
	}
}

// loadImageFile decodes a PGM, PNG, JPEG or GIF file of at most maxPixels
// (ErrImageTooLarge otherwise, found from the header before decoding).
func loadImageFile(name string, maxPixels int) (image.Image, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
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
