package assembly

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/input/camera"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/page"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// lane is one input and the pipeline it feeds.
type lane struct {
	name string
	in   input.Input
	pipe *kiosk.Pipeline
}

// openInputs opens the camera (the camera: section) and the inputs the
// config lists (inputs:), and a pipeline for each, all deciding through
// the same verifier onto the same signal and observers.
func (d *Daemon) openInputs(ctx context.Context) error {
	d.mon = &kiosk.Monitor{Verifier: d.ver, Signal: d.sig, Meter: d.metrics, Preview: d.preview, OnVerdict: d.verdict}
	var obs kiosk.Observer = d.mon
	if d.opts.Observer != nil {
		obs = observers{d.mon, d.opts.Observer}
	}
	// Per-input metrics and states (issue 20, inputs.go).
	d.inputMeter = newInputMetrics()
	if err := d.metrics.Register(d.inputMeter); err != nil {
		return fmt.Errorf("registering the input metrics: %w", err)
	}
	d.mon.InputMeter = d.inputMeter
	if d.hasCamera() {
		kind, err := input.Lookup(camera.Kind)
		if err != nil {
			return err
		}
		d.inputMeter.declare(camera.Kind, camera.Kind)
		d.metrics.DeclareInput(camera.Kind)
		onState := func(s scanner.State) {
			d.mon.CameraState(s)
			d.inputMeter.InputUp(camera.Kind, s.Up)
		}
		l, err := openLane(ctx, &d.cfg, kind, d.ver, d.sig, obs, input.Spec{Name: camera.Kind, Decode: decodeCamera(d.cfg.Camera),
			Logger: d.log, OnState: onState, Script: d.opts.Script})
		if err != nil {
			return fmt.Errorf("opening the camera: %w", err)
		}
		l.pipe.Hints = d.hints.publish // the scan-mode screen's live hint
		d.lanes = append(d.lanes, l)
	} else {
		d.mon.NoCamera = true // camera.source: none, a door with scanners only
	}
	for i, p := range d.cfg.Inputs {
		kind, err := input.Lookup(p.Kind)
		if err != nil {
			return fmt.Errorf("inputs[%d].kind: %w", i, err)
		}
		d.inputMeter.declare(p.Name, p.Kind)
		d.metrics.DeclareInput(p.Name)
		d.mon.AddInput(p.Name, p.Kind, "")
		l, err := openLane(ctx, &d.cfg, kind, d.ver, d.sig, obs, input.Spec{Name: p.Name, Decode: p.Decode,
			Logger: d.log.With("input", p.Name), OnState: d.inputState(p.Name), Script: d.opts.Script})
		if err != nil {
			return fmt.Errorf("opening input %s: %w", p.Name, err)
		}
		if t, ok := l.in.(input.Text); ok {
			name := p.Name
			l.pipe.Text = countReads{Text: t, onRead: func(at time.Time) { d.mon.InputRead(name, at) }}
		}
		d.lanes = append(d.lanes, l)
	}
	return nil
}

// hasCamera: camera.source is not none.
func (d *Daemon) hasCamera() bool { return d.cfg.Camera.Source != config.CameraNone }

// logState logs an input's changes of health (the monitor hears them too:
// the camera's through CameraState, a scanner's through InputState).
func logState(log *slog.Logger) func(scanner.State) {
	return func(s scanner.State) {
		if s.Up {
			log.Info("input up", "detail", s.Detail)
		} else {
			log.Warn("input down", "detail", s.Detail)
		}
	}
}

// openLane opens one input of kind as a lane deciding with ver onto sig.
// Every lane re-arms a code after camera.rearm.
func openLane(ctx context.Context, cfg *config.Config, kind input.Kind, ver kiosk.Verifier, sig gpio.Signal, obs kiosk.Observer, spec input.Spec) (*lane, error) {
	in, err := kind.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	pipe := &kiosk.Pipeline{Verifier: ver, Signal: sig, Rearm: cfg.Camera.Rearm, Observer: obs, Logger: spec.Logger, Input: spec.Name}
	switch in := in.(type) {
	case input.Frames:
		pipe.Source, pipe.Decoder = in, scanner.NewDecoder(scanner.DecoderOptions{})
	case input.Text:
		pipe.Text = in
	default:
		return nil, fmt.Errorf("input %s: %T is neither frames nor text", spec.Name, in)
	}
	return &lane{name: spec.Name, in: in, pipe: pipe}, nil
}

// decodeCamera hands the camera: section to the camera kind as its
// scanner.Camera options.
func decodeCamera(c config.Camera) func(any) error {
	return func(into any) error {
		p, ok := into.(*scanner.Camera)
		if !ok {
			return fmt.Errorf("camera: the camera section decodes into *scanner.Camera, not %T", into)
		}
		*p = CameraOptions(c)
		return nil
	}
}

// CameraOptions maps the camera: section onto the scanner's options.
func CameraOptions(c config.Camera) scanner.Camera {
	return scanner.Camera{Source: c.Source, Width: c.Width, Height: c.Height, FPS: c.FPS, Format: c.Format,
		Buffers: c.Buffers, Loop: c.Loop, Controls: c.Controls, MaxImagePixels: c.MaxImagePixels}
}

// startLanes runs every lane; a lane whose source fails stops the daemon,
// one whose source ends (a replay without loop) is logged.
func (d *Daemon) startLanes(ctx context.Context, wg *stdsync.WaitGroup, report func(error)) {
	for _, l := range d.lanes {
		wg.Go(func() {
			if err := l.pipe.Run(ctx); err != nil {
				report(fmt.Errorf("%s pipeline: %w", l.name, err))
				return
			}
			if ctx.Err() == nil {
				d.log.Info("frame source finished", "source", l.in.Describe())
			}
		})
	}
}

// Scan runs the lanes until their sources end (replays without loop) or
// ctx ends: kioskd demo's scenes, with nothing else running.
func (d *Daemon) Scan(ctx context.Context) error {
	for _, l := range d.lanes {
		if err := l.pipe.Run(ctx); err != nil {
			return fmt.Errorf("running the %s pipeline: %w", l.name, err)
		}
	}
	return nil
}

// ScanWith runs a lane built from cfg's camera, policy and access over this
// daemon's store and outputs until its source ends: kioskd demo's scene
// under another configuration.
func (d *Daemon) ScanWith(ctx context.Context, cfg *config.Config, obs kiosk.Observer) error {
	ver := NewVerifier(d.st, cfg, d.log, nil)
	kind, err := input.Lookup(camera.Kind)
	if err != nil {
		return err
	}
	l, err := openLane(ctx, cfg, kind, ver, d.sig, obs, input.Spec{Name: "camera", Decode: decodeCamera(cfg.Camera),
		Logger: d.log, OnState: func(scanner.State) {}})
	if err != nil {
		return fmt.Errorf("opening the camera: %w", err)
	}
	return l.pipe.Run(ctx)
}

// Submit decides on a code given outside the inputs (a staff desk), through
// the first lane's verifier, signal and observers.
func (d *Daemon) Submit(ctx context.Context, text string) verify.Verdict {
	if len(d.lanes) == 0 {
		return d.ver.NotACode(ctx)
	}
	return d.lanes[0].pipe.Submit(ctx, text)
}

// Describe says what the inputs are.
func (d *Daemon) Describe() string { return d.describeInputs() }

func (d *Daemon) describeInputs() string {
	var ds []string
	for _, l := range d.lanes {
		ds = append(ds, l.in.Describe())
	}
	return strings.Join(ds, "; ")
}

// observers hands every lane event to each of its observers.
type observers []kiosk.Observer

func (os observers) Frame(f scanner.Frame, took time.Duration, found bool) {
	for _, o := range os {
		o.Frame(f, took, found)
	}
}

func (os observers) Verdict(v verify.Verdict) {
	for _, o := range os {
		o.Verdict(v)
	}
}

func (os observers) VerdictLatency(input string, d time.Duration) {
	for _, o := range os {
		if l, ok := o.(kiosk.LatencyObserver); ok {
			l.VerdictLatency(input, d)
		}
	}
}

// hintFeed is the camera lane's hint (kiosk.Pipeline.Hints: debounced,
// changes only) for the pages following it.
type hintFeed struct {
	mu   stdsync.Mutex
	now  scanner.Hint
	next int
	fns  map[int]func(scanner.Hint)
}

// Subscribe implements page.Hints: fn hears the hint now, then each change.
func (h *hintFeed) Subscribe(fn func(scanner.Hint)) (cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fns == nil {
		h.fns = map[int]func(scanner.Hint){}
	}
	id := h.next
	h.next++
	h.fns[id] = fn
	fn(h.now)
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.fns, id)
	}
}

func (h *hintFeed) publish(v scanner.Hint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = v
	for _, fn := range h.fns {
		fn(v)
	}
}

// pageHints is the hint feed for the pages, nil without a camera.
func (d *Daemon) pageHints() page.Hints {
	if !d.hasCamera() {
		return nil
	}
	return &d.hints
}

// subscribers are the pages following the verdicts live.
type subscribers struct {
	mu   stdsync.Mutex
	next int
	fns  map[int]func(verify.Verdict)
}

// Subscribe implements page.Verdicts.
func (s *subscribers) Subscribe(fn func(verify.Verdict)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = map[int]func(verify.Verdict){}
	}
	id := s.next
	s.next++
	s.fns[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.fns, id)
	}
}

func (s *subscribers) publish(v verify.Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fn := range s.fns {
		fn(v)
	}
}
