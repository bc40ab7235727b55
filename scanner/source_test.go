package scanner

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/internal/synth"
)

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writePGM(t *testing.T, path string, img *image.Gray) {
	t.Helper()
	var buf bytes.Buffer
	if err := EncodePGM(&buf, grayFrame(img)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replayCfg(src string) Camera {
	return Camera{Source: src, Width: 640, Height: 480, FPS: 200, Format: "auto", Buffers: 2}
}

// TestReplayEndToEnd runs a directory of frames through the source, the
// decoder, the payload rule and presence tracking, as the daemon does.
func TestReplayEndToEnd(t *testing.T) {
	dir := t.TempDir()
	code := render(t, synth.Scene{Text: testCode, Size: 200, Noise: 3, Seed: 1})
	empty := render(t, synth.Scene{Noise: 3, Seed: 2})
	url := render(t, synth.Scene{Text: "https://example.org/", Size: 200, Seed: 3})
	writePNG(t, filepath.Join(dir, "01.png"), code)
	writePGM(t, filepath.Join(dir, "02.pgm"), code)
	writePNG(t, filepath.Join(dir, "03.png"), url)
	writePNG(t, filepath.Join(dir, "04.png"), empty)
	if err := os.WriteFile(filepath.Join(dir, "05.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644); err != nil {
		t.Fatal(err)
	}

	var states []State
	// This test wants every frame (TestReplayDropsStaleFrames is the one that
	// does not), so it asks for every image rather than hoping a decode under
	// -race on a loaded machine fits in a frame period: no image is dropped
	// however slow the callback, so Seq must still run without a gap.
	cfg := replayCfg("dir:" + dir)
	cfg.FPS = 30
	src, err := Open(cfg, SourceOptions{EveryImage: true, OnState: func(s State) { states = append(states, s) }})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(DecoderOptions{})
	pr := NewPresence(time.Hour)
	var texts []string
	fires := 0
	var lastSeq uint64
	err = src.Run(context.Background(), func(f Frame) {
		if f.Seq != lastSeq+1 {
			t.Errorf("seq %d after %d", f.Seq, lastSeq)
		}
		lastSeq = f.Seq
		text, ok := d.Decode(f)
		texts = append(texts, text)
		if !ok {
			pr.Tick(f.Time)
			return
		}
		if c, err := ParsePayload(text); err == nil && pr.Observe(c, f.Time) {
			fires++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{testCode, testCode, "https://example.org/", ""}
	if len(texts) != len(want) {
		t.Fatalf("got %d frames %q, want %d", len(texts), texts, len(want))
	}
	for i := range want {
		if texts[i] != want[i] {
			t.Errorf("frame %d: %q, want %q", i, texts[i], want[i])
		}
	}
	if fires != 1 {
		t.Errorf("code fired %d times, want once", fires)
	}
	if len(states) != 2 || !states[0].Up || states[1].Up {
		t.Errorf("states %+v, want up then down", states)
	}
}

func TestReplayLoopAndCancel(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), render(t, synth.Scene{Seed: 1}))
	cfg := replayCfg("file:" + filepath.Join(dir, "a.png"))
	cfg.Loop = true
	src, err := Open(cfg, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = src.Run(ctx, func(f Frame) {
		if n++; n == 5 {
			cancel()
		}
	})
	if err != nil || n < 5 {
		t.Fatalf("Run = %v after %d frames", err, n)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, src := range []string{"dir:" + dir, "dir:" + filepath.Join(dir, "missing"), "file:" + filepath.Join(dir, "missing.png"), "rtsp://camera"} {
		if _, err := Open(replayCfg(src), SourceOptions{}); err == nil {
			t.Errorf("Open(%q) succeeded", src)
		}
	}
}

func TestReplayUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.png"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Open(replayCfg("dir:"+dir), SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(context.Background(), func(Frame) {}); err == nil {
		t.Fatal("Run succeeded with no readable image")
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestV4L2Retries: a device that is missing, or is not a camera, is
// reported down, retried with backoff, and leaks no descriptors.
func TestV4L2Retries(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("V4L2 is Linux only")
	}
	for _, dev := range []string{"/dev/video-kioskd-test-missing", "/dev/null"} {
		t.Run(dev, func(t *testing.T) {
			before := openFDs(t)
			cfg := replayCfg(dev)
			var mu sync.Mutex
			var states []State
			src, err := Open(cfg, SourceOptions{OnState: func(s State) {
				mu.Lock()
				states = append(states, s)
				mu.Unlock()
			}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 1800*time.Millisecond)
			defer cancel()
			frames := 0
			if err := src.Run(ctx, func(Frame) { frames++ }); err != nil {
				t.Fatalf("Run = %v, want nil at the end of ctx", err)
			}
			if frames != 0 {
				t.Fatalf("%d frames from %s", frames, dev)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(states) != 1 || states[0].Up || states[0].Err == nil {
				t.Fatalf("states %+v, want one down report", states)
			}
			if after := openFDs(t); after != before {
				t.Fatalf("%d descriptors open after retries, %d before", after, before)
			}
		})
	}
}

func TestSnapshotReplay(t *testing.T) {
	dir := t.TempDir()
	img := render(t, synth.Scene{Text: testCode, Size: 200, Seed: 4})
	writePNG(t, filepath.Join(dir, "a.png"), img)
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), SnapshotTimeout)
	defer cancel()
	if err := Snapshot(ctx, replayCfg("dir:"+dir), &buf); err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if text, ok := DecodeImage(NewDecoder(DecoderOptions{}), got); !ok || text != testCode {
		t.Fatalf("snapshot decodes to %q, %v", text, ok)
	}
}

func TestSnapshotMissingCamera(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	err := Snapshot(ctx, replayCfg("/dev/video-kioskd-test-missing"), &bytes.Buffer{})
	if err == nil {
		t.Fatal("snapshot of a missing camera succeeded")
	}
}

// TestReplayDropsStaleFrames shows the lane keeping up with a camera faster
// than its decoder: while a slow callback runs, the frames whose time passed
// are dropped (a gap in Seq as wide as the number skipped), the one due now
// is delivered next, and its Time is its capture slot, not when decoding
// began. Before, every image was delivered in turn, each later than the last.
func TestReplayDropsStaleFrames(t *testing.T) {
	const (
		n      = 40
		fps    = 200
		period = time.Second / fps
		slow   = 6 * period // the deliberately slow decoder
	)
	dir := t.TempDir()
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 16, 16))
		img.Pix[0] = byte(i) // which image this is
		writePNG(t, filepath.Join(dir, fmt.Sprintf("%02d.png", i)), img)
	}
	cfg := replayCfg("dir:" + dir)
	cfg.FPS = fps
	src, err := Open(cfg, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		seq     uint64
		img     int
		at      time.Time // Frame.Time
		prevEnd time.Time // when the previous callback returned
	}
	var (
		frames  []got
		prevEnd time.Time
	)
	if err := src.Run(context.Background(), func(f Frame) {
		frames = append(frames, got{f.Seq, int(f.Y[0]), f.Time, prevEnd})
		time.Sleep(slow) // decoding takes six frame periods
		prevEnd = time.Now()
	}); err != nil {
		t.Fatal(err)
	}
	if len(frames) < 2 || len(frames) > n/5 {
		t.Fatalf("%d of %d frames delivered to a decoder 6 periods slow; want 2..%d", len(frames), n, n/5)
	}
	for i, f := range frames {
		// Seq counts every frame the camera took: the image shown is the
		// (Seq)th, and the gap before it is how many were dropped.
		if f.img != int(f.seq)-1 {
			t.Errorf("frame %d: image %d with seq %d; the gaps in Seq must be the frames dropped", i, f.img, f.seq)
		}
		if i == 0 {
			continue
		}
		if gap := f.seq - frames[i-1].seq; gap < 6 && f.img != n-1 {
			t.Errorf("frame %d: seq %d after %d: a frame from the backlog, not the newest", i, f.seq, frames[i-1].seq)
		}
		// The newest frame was captured at most one period before the
		// decoder asked again; a stale one earlier.
		if !f.at.After(f.prevEnd.Add(-period)) && f.img != n-1 {
			t.Errorf("frame %d captured %v before the decoder was free again: stale", i, f.prevEnd.Sub(f.at))
		}
		if !f.at.After(frames[i-1].at) {
			t.Errorf("frame %d: capture time does not advance", i)
		}
	}
	if last := frames[len(frames)-1]; last.img != n-1 || last.seq != n {
		t.Errorf("last frame delivered: image %d seq %d; want the last image, %d", last.img, last.seq, n)
	}
}

// TestReplayEveryImage: a slideshow (kioskd demo) shows every image in
// turn even to a slow consumer, none sooner than a period after the last
// (no burst of catching up).
func TestReplayEveryImage(t *testing.T) {
	const (
		n      = 8
		period = 5 * time.Millisecond
	)
	dir := t.TempDir()
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 16, 16))
		img.Pix[0] = byte(i)
		writePNG(t, filepath.Join(dir, fmt.Sprintf("%02d.png", i)), img)
	}
	cfg := replayCfg("dir:" + dir)
	cfg.FPS = int(time.Second / period)
	src, err := Open(cfg, SourceOptions{EveryImage: true})
	if err != nil {
		t.Fatal(err)
	}
	var (
		got   []int
		times []time.Time
	)
	if err := src.Run(context.Background(), func(f Frame) {
		if f.Seq != uint64(len(got)+1) {
			t.Errorf("seq %d after %d frames: a gap in a slideshow", f.Seq, len(got))
		}
		got = append(got, int(f.Y[0]))
		times = append(times, time.Now())
		time.Sleep(3 * period)
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("shown %v, want all %d images", got, n)
	}
	for i := 1; i < n; i++ {
		if got[i] != i {
			t.Errorf("image %d shown %d-th", got[i], i)
		}
		if gap := times[i].Sub(times[i-1]); gap < period {
			t.Errorf("image %d shown %v after the one before, less than a period", i, gap)
		}
	}
}
