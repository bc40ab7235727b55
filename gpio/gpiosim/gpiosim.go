// Package gpiosim is kioskd's simulated GPIO: the sim driver of package gpio.
// It stands beside gpio the way net/http/httptest stands beside net/http, and
// is used by the demo and by the tests alike.
//
// A Recorder plays the part of the gpiochip and of whatever is wired to it. It
// records every transition of every output line with a timestamp (time.Now,
// so inside a testing/synctest bubble the timestamps are the bubble's fake
// clock), the line's name, its label (what is wired to it: "relay"), its
// physical level and what that level means (Active, after the wiring's
// active-low inversion). Inputs are driven by the test or demo with SetInput.
//
// Like the kernel, the Recorder refuses to hand out a line that is already
// requested (busy), and an output comes into existence already at the level it
// was requested with: that first transition is marked Initial.
package gpiosim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBusy is returned when a line is requested twice.
var ErrBusy = errors.New("line busy")

// ErrClosed is returned by the methods of a released line.
var ErrClosed = errors.New("line released")

// Transition is one change of one output line.
type Transition struct {
	At    time.Time
	Line  string // line name, e.g. GPIO17
	Label string // what it drives, e.g. relay
	// Level is the physical level (true = high) and Active what it means
	// for the device wired to it (Level inverted for an active-low line).
	Level, Active bool
	// Initial marks the level the line was requested with.
	Initial bool
	// Held is how long the line had been at its previous level (zero for
	// the initial transition).
	Held time.Duration
}

func (t Transition) String() string {
	state := "OFF"
	if t.Active {
		state = "ON"
	}
	s := fmt.Sprintf("%s %s (%s) %s", t.At.Format("15:04:05.000"), t.Label, t.Line, state)
	switch {
	case t.Initial:
		s += " (requested)"
	case t.Held > 0:
		s += fmt.Sprintf(" after %.1fs", t.Held.Seconds())
	}
	return s
}

// Recorder is a simulated gpiochip. The zero value is not usable: call
// NewRecorder.
type Recorder struct {
	notify func(Transition)

	mu      sync.Mutex
	log     []Transition
	outputs map[string]*Output // currently requested outputs by line name
	inputs  map[string]*Input  // currently requested inputs by line name
	levels  map[string]bool    // input line levels (physical), kept across requests
	last    map[string]time.Time
}

// NewRecorder returns an empty recorder. notify, if not nil, is called with
// every transition after it is recorded, from the goroutine that wrote the
// line; it must not call back into the line.
func NewRecorder(notify func(Transition)) *Recorder {
	return &Recorder{
		notify:  notify,
		outputs: make(map[string]*Output),
		inputs:  make(map[string]*Input),
		levels:  make(map[string]bool),
		last:    make(map[string]time.Time),
	}
}

// Output is a requested simulated output line.
type Output struct {
	r         *Recorder
	name      string
	label     string
	activeLow bool
	level     bool
	closed    bool
}

// RequestOutput requests line as an output driven at the physical level high
// from the first moment. label and activeLow describe what is wired to it
// (for the recorded Active and for a readable demo); they do not change what
// Set does.
func (r *Recorder) RequestOutput(line, label string, activeLow, high bool) (*Output, error) {
	r.mu.Lock()
	if r.busyLocked(line) {
		r.mu.Unlock()
		return nil, fmt.Errorf("requesting %s: %w", line, ErrBusy)
	}
	o := &Output{r: r, name: line, label: label, activeLow: activeLow, level: high}
	r.outputs[line] = o
	t := r.recordLocked(o, true)
	r.mu.Unlock()
	r.emit(t)
	return o, nil
}

func (r *Recorder) busyLocked(line string) bool {
	_, out := r.outputs[line]
	_, in := r.inputs[line]
	return out || in
}

// recordLocked appends the output's current level as a transition.
func (r *Recorder) recordLocked(o *Output, initial bool) Transition {
	now := time.Now()
	t := Transition{At: now, Line: o.name, Label: o.label, Level: o.level, Active: o.level != o.activeLow, Initial: initial}
	if prev, ok := r.last[o.name]; ok && !initial {
		t.Held = now.Sub(prev)
	}
	r.last[o.name] = now
	r.log = append(r.log, t)
	return t
}

func (r *Recorder) emit(t Transition) {
	if r.notify != nil {
		r.notify(t)
	}
}

// Name is the line's name.
func (o *Output) Name() string { return o.name }

// Set drives the line to a physical level. Writing the level the line
// already has records nothing (the wire does not change).
func (o *Output) Set(high bool) error {
	r := o.r
	r.mu.Lock()
	if o.closed {
		r.mu.Unlock()
		return fmt.Errorf("setting %s: %w", o.name, ErrClosed)
	}
	if o.level == high {
		r.mu.Unlock()
		return nil
	}
	o.level = high
	t := r.recordLocked(o, false)
	r.mu.Unlock()
	r.emit(t)
	return nil
}

// Close releases the line. It keeps its last level, as a real line does until
// something else drives it.
func (o *Output) Close() error {
	r := o.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	delete(r.outputs, o.name)
	return nil
}

// Input is a requested simulated input line.
type Input struct {
	r      *Recorder
	name   string
	edge   chan struct{} // a level change since the last Wait; capacity 1
	closed bool
}

// Bias is an input's pull resistor: what the line reads when nothing drives it.
type Bias uint8

const (
	BiasNone     Bias = iota // floating: reads low here
	BiasPullUp               // reads high
	BiasPullDown             // reads low
)

// RequestInput requests line as an input with a bias. Its level is whatever
// SetInput last made it or, if never set, the bias's.
func (r *Recorder) RequestInput(line string, bias Bias) (*Input, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busyLocked(line) {
		return nil, fmt.Errorf("requesting %s: %w", line, ErrBusy)
	}
	if _, driven := r.levels[line]; !driven {
		r.levels[line] = bias == BiasPullUp
	}
	in := &Input{r: r, name: line, edge: make(chan struct{}, 1)}
	r.inputs[line] = in
	return in, nil
}

// Name is the line's name.
func (in *Input) Name() string { return in.name }

// Read returns the physical level.
func (in *Input) Read() (bool, error) {
	in.r.mu.Lock()
	defer in.r.mu.Unlock()
	if in.closed {
		return false, fmt.Errorf("reading %s: %w", in.name, ErrClosed)
	}
	return in.r.levels[in.name], nil
}

// Wait blocks until the level has changed since the previous Wait (edge =
// true), d has elapsed (d <= 0: no limit) or ctx is done.
func (in *Input) Wait(ctx context.Context, d time.Duration) (edge bool, err error) {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-in.edge:
		return true, nil
	case <-timeout:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// Close releases the line.
func (in *Input) Close() error {
	in.r.mu.Lock()
	defer in.r.mu.Unlock()
	if !in.closed {
		in.closed = true
		delete(in.r.inputs, in.name)
	}
	return nil
}

// SetInput drives an input line to a physical level, as a button or sensor
// wired to it would. The line need not be requested yet.
func (r *Recorder) SetInput(line string, high bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prev, set := r.levels[line]
	r.levels[line] = high
	if set && prev == high {
		return
	}
	if in, ok := r.inputs[line]; ok {
		select {
		case in.edge <- struct{}{}:
		default: // an edge is already pending; Read gives the latest level
		}
	}
}

// Transitions returns a copy of every transition recorded so far, oldest first.
func (r *Recorder) Transitions() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.log...)
}

// Of returns the transitions of one line, oldest first.
func (r *Recorder) Of(line string) []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Transition
	for _, t := range r.log {
		if t.Line == line {
			out = append(out, t)
		}
	}
	return out
}

// Level returns the physical level an output line was last driven to, and
// whether it was ever requested. A released line keeps its last level.
func (r *Recorder) Level(line string) (high, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.log) - 1; i >= 0; i-- {
		if r.log[i].Line == line {
			return r.log[i].Level, true
		}
	}
	return false, false
}

// Requested reports whether line is currently requested (not released).
func (r *Recorder) Requested(line string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.busyLocked(line)
}
