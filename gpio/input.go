package gpio

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// InputKind says which input an event comes from.
type InputKind uint8

const (
	ExitButton  InputKind = iota + 1 // gpio.exit_button: request-to-exit
	DoorContact                      // gpio.door_contact: asserted = door open
)

func (k InputKind) String() string {
	switch k {
	case ExitButton:
		return "exit_button"
	case DoorContact:
		return "door_contact"
	}
	return "invalid"
}

// InputEvent is a debounced change of an input.
type InputEvent struct {
	Kind InputKind
	Line string // as configured, e.g. GPIO23
	// Active is the asserted state after the wiring's active-low inversion:
	// the exit button pressed, the door open.
	Active bool
	// At is when the new level was first seen (before the debounce delay).
	At time.Time
}

func (e InputEvent) String() string {
	switch e.Kind {
	case ExitButton:
		if e.Active {
			return "exit button pressed"
		}
		return "exit button released"
	case DoorContact:
		if e.Active {
			return "door opened"
		}
		return "door closed"
	}
	return fmt.Sprintf("%s active=%t", e.Kind, e.Active)
}

// watcher debounces one input line.
type watcher struct {
	kind      InputKind
	in        PhysIn
	activeLow bool
	debounce  time.Duration
	emit      func(InputEvent)
}

func openInputs(drv Driver, cfg Config) ([]*watcher, error) {
	var ws []*watcher
	for _, c := range []struct {
		kind InputKind
		in   *InputConfig
	}{{ExitButton, cfg.ExitButton}, {DoorContact, cfg.DoorContact}} {
		if c.in == nil {
			continue
		}
		p, err := drv.Input("gpio."+c.kind.String(), *c.in, pullOf(*c.in))
		if err != nil {
			for _, w := range ws {
				_ = w.in.Close()
			}
			return nil, err
		}
		ws = append(ws, &watcher{kind: c.kind, in: p, activeLow: c.in.ActiveLow, debounce: c.in.Debounce})
	}
	return ws, nil
}

// run reports every change of the input that has held for the debounce
// time, until ctx is done; then it releases the line. The level it finds at
// start is its reference and is not reported.
//
// A change counts from its last edge: a bouncing contact restarts the
// count on every bounce, so one press is one event.
func (w *watcher) run(ctx context.Context, log *slog.Logger) {
	defer w.in.Close()
	read := func() (bool, bool) {
		high, err := w.in.Read()
		if err != nil {
			log.Error("gpio input read", "input", w.kind.String(), "err", err)
			return false, false
		}
		return high != w.activeLow, true
	}
	stable, ok := read()
	for !ok {
		if _, err := w.in.Wait(ctx, time.Second); err != nil {
			return
		}
		stable, ok = read()
	}
	seen, since := stable, time.Now() // latest raw level and when it last changed
	for {
		var d time.Duration // until the candidate level has held long enough
		if seen != stable {
			d = max(time.Until(since.Add(w.debounce)), time.Nanosecond)
		}
		edge, err := w.in.Wait(ctx, d)
		if err != nil {
			return
		}
		now := time.Now()
		raw, ok := read()
		if !ok {
			continue
		}
		if edge || raw != seen {
			seen, since = raw, now
		}
		if seen != stable && now.Sub(since) >= w.debounce {
			stable = seen
			w.emit(InputEvent{Kind: w.kind, Line: w.in.Name(), Active: stable, At: since})
		}
	}
}
