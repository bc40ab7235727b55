package scanner

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/imagebomb"
	"github.com/kioskd/kioskd/scanner/internal/synth"
)

// allocated is how many bytes the Go heap handed out while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// refusedForSize: the cap refused it, or (on 32-bit) image/png did first,
// as 65535×65535×8 bytes cannot even be counted in an int there.
func refusedForSize(err error) bool {
	return errors.Is(err, ErrImageTooLarge) || err != nil && strconv.IntSize == 32 && strings.Contains(err.Error(), "dimension overflow")
}

// TestFaultImageBombs (issue 17, item 1): image files whose header claims
// 65535×65535 are refused from the header, before the decoder allocates the
// image; a real image over the cap is refused the same way, and one under
// it decodes. Before the cap the PNG killed the process (out of memory) and
// the GIF and JPEG allocated 4 GB each.
func TestFaultImageBombs(t *testing.T) {
	dir := t.TempDir()
	small := render(t, synth.Scene{Text: testCode, Size: 200, Seed: 1}) // 320×240
	writePNG(t, filepath.Join(dir, "small.png"), small)
	for name, data := range map[string][]byte{
		"bomb.png": imagebomb.PNG(65535, 65535),
		"bomb.gif": imagebomb.GIF(65535, 65535),
		"bomb.jpg": imagebomb.JPEG(65535, 65535),
		"bomb.pgm": imagebomb.PGM(8192, 8192),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pixels := small.Rect.Dx() * small.Rect.Dy()
	tests := []struct {
		file    string
		cap     int
		tooBig  bool
		maxHeap uint64 // bytes the attempt may allocate
	}{
		{"bomb.png", 0, true, 1 << 20},
		{"bomb.gif", 0, true, 1 << 20},
		{"bomb.jpg", 0, true, 1 << 20},
		{"bomb.pgm", 0, true, 1 << 20},
		{"small.png", pixels - 1, true, 1 << 20},
		{"small.png", pixels, false, 8 << 20},
		{"small.png", 0, false, 8 << 20},
	}
	for _, tt := range tests {
		var (
			img image.Image
			err error
		)
		n := allocated(func() { img, err = LoadImage(filepath.Join(dir, tt.file), tt.cap) })
		switch {
		case tt.tooBig && !refusedForSize(err):
			t.Errorf("%s, cap %d: err %v, want ErrImageTooLarge", tt.file, tt.cap, err)
		case !tt.tooBig && (err != nil || img.Bounds() != small.Rect):
			t.Errorf("%s, cap %d: %v, want the %v image", tt.file, tt.cap, err, small.Rect)
		}
		if n > tt.maxHeap {
			t.Errorf("%s, cap %d: allocated %d bytes, want at most %d", tt.file, tt.cap, n, tt.maxHeap)
		}
		if err != nil && !strings.Contains(err.Error(), tt.file) {
			t.Errorf("%s: error %q does not name the file", tt.file, err)
		}
	}
}

// TestFaultMJPEGBomb: a camera's MJPEG frame whose header claims 65535×65535
// is skipped like a torn frame, without allocating the image.
func TestFaultMJPEGBomb(t *testing.T) {
	s := &v4l2{}
	var f Frame
	var err error
	n := allocated(func() { f, err = s.frame(fmtMJPEG, imagebomb.JPEG(65535, 65535), 640, 480, nil) })
	if err != nil || f.Y != nil {
		t.Errorf("MJPEG bomb: %v, %d bytes of frame; want skipped", err, len(f.Y))
	}
	if n > 1<<20 {
		t.Errorf("MJPEG bomb: allocated %d bytes", n)
	}
}

// TestFaultReplaySkipsBombs: a dir: source holding bombs logs and skips
// them and shows the good frames.
func TestFaultReplaySkipsBombs(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"01-bomb.gif": imagebomb.GIF(65535, 65535),
		"02-bomb.png": imagebomb.PNG(65535, 65535),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := render(t, synth.Scene{Text: testCode, Size: 200, Seed: 1})
	writePNG(t, filepath.Join(dir, "03-good.png"), good)
	log, logs := captureLog()
	src, err := Open(replayCfg("dir:"+dir), SourceOptions{Logger: log, EveryImage: true})
	if err != nil {
		t.Fatal(err)
	}
	var frames []Frame
	if err := src.Run(context.Background(), func(f Frame) { frames = append(frames, f) }); err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 || frames[0].Width != good.Rect.Dx() {
		t.Fatalf("%d frames shown, want the one good one", len(frames))
	}
	text := logs()
	for _, name := range []string{"01-bomb.gif", "02-bomb.png"} {
		refused := false
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, "skipping image") && strings.Contains(l, name) &&
				(strings.Contains(l, "camera.max_image_pixels") || strconv.IntSize == 32 && strings.Contains(l, "dimension overflow")) {
				refused = true
			}
		}
		if !refused {
			t.Errorf("the log does not say %s was refused for its size:\n%s", name, text)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestFaultFrameLayoutHugeSize: a camera listing a discrete size whose
// w*h*bpp wraps a 32-bit int (armv7 Pi OS; GOARCH=386 shows it here) to
// the length of a small buffer must not make that buffer "fit" it:
// 65536×65537 wraps to 65536, and a 65536-byte GREY frame was taken as
// 65536×65537, for the decoder to read far past its end (a panic).
func TestFaultFrameLayoutHugeSize(t *testing.T) {
	for _, tt := range []struct {
		f    fourCC
		w, h int
		n    int
	}{
		{fmtGREY, 65536, 65537, 65536},
		{fmtYUYV, 65536, 32769, 131072}, // 65536*32769*2 = 2^32 + 131072
	} {
		sizes := []frameSize{{minW: tt.w, maxW: tt.w, minH: tt.h, maxH: tt.h}}
		if fw, fh, _, _, err := frameLayout(tt.f, tt.n, 640, 480, sizes); err == nil {
			t.Errorf("%v: a %d-byte frame taken as %dx%d", tt.f, tt.n, fw, fh)
		}
	}
}

// TestFaultReplaySkipsSpecialFiles: a FIFO (or a device node) named like an
// image in a dir: source was opened with a blocking open, which waits for a
// writer for ever: the lane stopped and the daemon's watchdog fired. It is
// skipped with a log line, as an unreadable image is, and the next image is
// shown.
func TestFaultReplaySkipsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "01-fifo.png"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	good := render(t, synth.Scene{Text: testCode, Size: 200, Seed: 1})
	writePNG(t, filepath.Join(dir, "02-good.png"), good)
	log, logs := captureLog()
	src, err := Open(replayCfg("dir:"+dir), SourceOptions{Logger: log, EveryImage: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var frames []Frame
	if err := src.Run(ctx, func(f Frame) { frames = append(frames, f) }); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the replay hung on the FIFO")
	}
	if len(frames) != 1 {
		t.Fatalf("%d frames shown, want the one good one", len(frames))
	}
	if text := logs(); !strings.Contains(text, "01-fifo.png") || !strings.Contains(text, "not a regular file") {
		t.Errorf("the log does not say the FIFO was skipped:\n%s", text)
	}
}

// captureLog returns a logger and a function reading what it logged so far.
func captureLog() (*slog.Logger, func() string) {
	var (
		mu   sync.Mutex
		logs strings.Builder
	)
	read := func() string {
		mu.Lock()
		defer mu.Unlock()
		return logs.String()
	}
	return slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)), read
}
