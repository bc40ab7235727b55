package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/status"
)

func cmdDecode(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("decode", "[-repeat N] FILE|DIR...", stderr)
	repeat := fs.Int("repeat", 1, "decode each image `N` times and report the median time")
	// The daemon's cap (camera.max_image_pixels): a file whose header claims
	// more is refused before it is decoded, as a few bytes can claim gigabytes.
	maxPixels := fs.Int("max-pixels", config.DefaultMaxImagePixels, "refuse images of more than `N` pixels (width×height, from the header)")
	if err := parse(fs, args); err != nil {
		return exitError, err
	}
	if fs.NArg() == 0 || *repeat < 1 || *maxPixels < 1 {
		fs.Usage()
		return exitError, errUsage
	}
	files, err := imageFiles(fs.Args())
	if err != nil {
		return exitError, err
	}
	dec := scanner.NewDecoder(scanner.DecoderOptions{})
	failed := 0
	for _, path := range files {
		if ctx.Err() != nil {
			return exitError, ctx.Err()
		}
		img, err := scanner.LoadImage(path, *maxPixels)
		if err != nil {
			fmt.Fprintf(stderr, "kioskd decode: %v\n", err)
			failed++
			continue
		}
		times := make([]time.Duration, *repeat)
		var text string
		var ok bool
		for i := range times {
			t0 := time.Now()
			text, ok = scanner.DecodeImage(dec, img)
			times[i] = time.Since(t0)
		}
		slices.Sort(times)
		flag := "0"
		if ok {
			flag = "1"
		}
		fmt.Fprintf(stdout, "%s\t%s\t%d\t%s\n", path, flag, times[len(times)/2].Microseconds(), status.OneLine(text)) // a QR holds any text: one TSV field, no escapes
	}
	if failed > 0 {
		return exitError, fmt.Errorf("%d of %d files could not be read", failed, len(files))
	}
	return exitOK, nil
}

// imageFiles expands folders into the image files they hold, sorted.
func imageFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".png", ".jpg", ".jpeg", ".pgm", ".gif":
				if !d.IsDir() {
					out = append(out, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", a, err)
		}
	}
	return out, nil
}
