package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kioskd/kioskd/hwtest/internal/v4lout"
)

// feeder plays the camera: it writes the current scene into the v4l2loopback
// output side at a fixed rate, and says when a new scene first reached the
// driver, on the same monotonic clock the GPIO watcher uses. That time is the
// start of the end-to-end latency measurement.
type feeder struct {
	dev           string
	width, height int
	period        time.Duration

	mu      sync.Mutex
	scene   []byte
	gen     int       // bumped by show
	written int       // gen of the last frame written
	firstAt time.Time // when gen was first written
	cancel  context.CancelFunc
	done    chan error
}

func newFeeder(dev string, width, height, fps int) *feeder {
	return &feeder{dev: dev, width: width, height: height, period: time.Second / time.Duration(fps),
		scene: v4lout.Blank(width, height)}
}

// start opens the output side and writes frames until stop.
func (f *feeder) start() error {
	w, err := v4lout.Open(f.dev, f.width, f.height)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() {
		defer w.Close()
		t := time.NewTicker(f.period)
		defer t.Stop()
		for {
			f.mu.Lock()
			frame, gen := f.scene, f.gen
			f.mu.Unlock()
			if err := w.Write(frame); err != nil {
				f.done <- err
				return
			}
			now := time.Now()
			f.mu.Lock()
			if f.written != gen {
				f.written, f.firstAt = gen, now
			}
			f.mu.Unlock()
			select {
			case <-ctx.Done():
				f.done <- nil
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// stop closes the output side: with exclusive_caps=1 the camera is gone.
func (f *feeder) stop() error {
	if f.cancel == nil {
		return nil
	}
	f.cancel()
	err := <-f.done
	f.cancel = nil
	return err
}

// show switches the scene and waits until its first frame was written,
// returning when that happened.
func (f *feeder) show(frame []byte) (time.Time, error) {
	f.mu.Lock()
	f.scene = frame
	f.gen++
	gen := f.gen
	f.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		w, at := f.written, f.firstAt
		f.mu.Unlock()
		if w == gen {
			return at, nil
		}
		time.Sleep(time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("the feeder did not write the new scene within 5s")
}

// blank shows an empty scene (no code in view).
func (f *feeder) blank() error {
	_, err := f.show(v4lout.Blank(f.width, f.height))
	return err
}
