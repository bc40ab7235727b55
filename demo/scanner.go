package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/input/hid"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
	"github.com/kioskd/kioskd/verify"
)

// The demo's scanner: a USB keyboard-wedge scanner beside the camera.
const (
	scannerName   = "desk-scanner"
	scannerDevice = "/dev/input/by-id/usb-Demo_2D_Scanner-event-kbd"
)

// scannerScene is the demo's scanner input (issue 20): an input of kind hid,
// a USB keyboard-wedge scanner, simulated at its device only. Its key
// events (input_event records, as the kernel's evdev delivers them) go
// through a pipe into the real hid reader and decoder, and each read
// through a kiosk.Pipeline's text lane: the step the camera's frames take
// after decoding, on the daemon's store and outputs. It returns the
// scanner's verdicts.
func scannerScene(ctx context.Context, p *printer, cfg *config.Config, srv *bbtest.Server, d *assembly.Daemon,
	log *slog.Logger) ([]verify.Verdict, error) {
	in := struct{ Name, Device string }{scannerName, scannerDevice}
	term := hid.Enter
	ver := assembly.NewVerifier(d.Store(), cfg, log, nil)
	sig := d.Signal()
	dev := &simKeyboard{ready: make(chan *os.File, 1)}
	states := make(chan scanner.State, 4)
	up := false
	r, err := hid.New(hid.Options{Device: in.Device, Terminator: term, Logger: log,
		Open: dev.open, RetryMin: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		OnState: func(s scanner.State) {
			// What the daemon's monitor does: a scanner away is a fault.
			// Only the changes between up and down are the scene's.
			if s.Up == up {
				return
			}
			up = s.Up
			sig.SetFault(!s.Up)
			states <- s
		}})
	if err != nil {
		return nil, err
	}
	verdicts := make(chan verify.Verdict, 8)
	obs := &observer{p: p}
	lane := &kiosk.Pipeline{Text: r, Verifier: ver, Signal: sig, Rearm: cfg.Camera.Rearm, Logger: log, Input: in.Name,
		Observer: verdictTap{obs, verdicts}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	dev.plug(true)
	go func() { done <- lane.Run(ctx) }()
	stop := func() error {
		cancel()
		return <-done
	}

	// wait waits for the scanner's state change (what = "attach",
	// "unplug") or its verdict (what = "verdict").
	wait := func(what string) error {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timeout:
				return fmt.Errorf("the simulated scanner: no %s in 10 s", what)
			case s := <-states:
				word := "attached, taken for kioskd alone (EVIOCGRAB); fault pattern off"
				if !s.Up {
					word = "UNPLUGGED: fault pattern on (" + s.Detail + ")"
				}
				p.say("scanner %s %s", in.Name, word)
				if what != "verdict" {
					return nil
				}
			case <-verdicts:
				if what == "verdict" {
					return nil
				}
			}
		}
	}
	typeText := func(w *os.File, text string, gap time.Duration, at time.Time) error {
		evs, err := hid.Type(text, term, at, gap)
		if err == nil {
			_, err = w.Write(hid.Encode(evs))
		}
		return err
	}
	guest := ""
	valid, unknown, dark := demoframes.Codes()
	for _, c := range srv.Codes() {
		if c != valid && c != dark {
			guest = c // a filler guest's code, live in the cache
			break
		}
	}
	p.say("scanner scene: %s, a USB keyboard-wedge scanner (%s, simulated: its key events, through the real evdev decoder)", in.Name, in.Device)
	if err := wait("attach"); err != nil {
		return nil, errors.Join(err, stop())
	}
	w := <-dev.ready
	now := time.Now()
	steps := []struct {
		say  string
		text []string
		gap  time.Duration
	}{
		{"types a guest's code in its URL form, and re-sends it twice while the trigger is held", []string{
			"https://example.com/checkin?code=" + guest, "https://example.com/checkin?code=" + guest, "https://example.com/checkin?code=" + guest}, 2 * time.Millisecond},
		{"types a code the venue never issued", []string{unknown}, 2 * time.Millisecond},
	}
	for _, s := range steps {
		p.say("scanner %s", s.say)
		for _, text := range s.text {
			if err := typeText(w, text, s.gap, now); err != nil {
				return nil, errors.Join(err, stop())
			}
			now = now.Add(time.Duration(4*len(text)+4) * s.gap)
		}
		if err := wait("verdict"); err != nil {
			return nil, errors.Join(err, stop())
		}
		time.Sleep(cfg.GPIO.AcceptFor) // the pattern shows before the next step
	}
	p.say("scanner unplugged half-way through a code")
	if evs, err := hid.Type(valid, term, now, 2*time.Millisecond); err == nil {
		w.Write(hid.Encode(evs[:len(evs)/2]))
	}
	dev.plug(false)
	if err := wait("unplug"); err != nil {
		return nil, errors.Join(err, stop())
	}
	time.Sleep(500 * time.Millisecond)
	dev.plug(true)
	if err := wait("attach"); err != nil {
		return nil, errors.Join(err, stop())
	}
	w = <-dev.ready
	p.say("scanner types the demo guest's code, used at the camera a moment ago")
	if err := typeText(w, valid, 2*time.Millisecond, time.Now()); err != nil {
		return nil, errors.Join(err, stop())
	}
	if err := wait("verdict"); err != nil {
		return nil, errors.Join(err, stop())
	}
	err = stop()
	dev.plug(false)
	return obs.verdicts(), err
}

// verdictTap passes the verdicts on to the demo's observer and to the
// scene's script, which waits for each.
type verdictTap struct {
	o *observer
	c chan<- verify.Verdict
}

func (v verdictTap) Frame(scanner.Frame, time.Duration, bool) {}
func (v verdictTap) Verdict(vd verify.Verdict) {
	v.o.Verdict(vd)
	v.c <- vd
}

// simKeyboard stands in for the scanner's evdev node: while plugged in,
// opening it gives the read end of a new pipe, whose write end the scene
// types into; unplugging closes that (the reader sees its device end) and
// makes opening fail as a missing node does.
type simKeyboard struct {
	mu    stdsync.Mutex
	in    bool
	w     *os.File
	ready chan *os.File
}

func (k *simKeyboard) open(path string) (io.ReadCloser, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.in {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	k.w = w
	k.ready <- w
	return r, nil
}

func (k *simKeyboard) plug(in bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.in = in
	if !in && k.w != nil {
		k.w.Close()
		k.w = nil
	}
}
