package gpio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/gpio/cdev"
	"github.com/kioskd/kioskd/gpio/gpiosim"
)

// Line is one output in terms of what it means at the door: active is the LED
// lit, the buzzer sounding, the door unlocked. The wiring's active-low
// inversion is applied here, in kioskd, because neither the kernel interface
// we use through periph nor periph's gpio.PinOut has a notion of it.
type Line interface {
	Set(active bool) error
	// Name is the configured line (GPIO17, gpiochip0:17).
	Name() string
	Close() error
}

// physOut is an output at its physical level, as a driver hands it out:
// already driven at the level it was requested with.
type physOut interface {
	Set(high bool) error
	Name() string
	Close() error
}

// physIn is an input at its physical level.
type physIn interface {
	Read() (high bool, err error)
	// Wait blocks until an edge (edge = true), d elapsed (d <= 0: a driver
	// chosen interval) or ctx done. It may return early without an edge.
	Wait(ctx context.Context, d time.Duration) (edge bool, err error)
	Name() string
	Close() error
}

// driver hands out lines. Outputs come into existence at their initial
// level: there is no moment where a line is an output at some other level.
type driver interface {
	output(key string, l config.Line, label string, initialHigh bool) (physOut, error)
	input(key string, in config.Input) (physIn, error)
}

// line applies active-low to a physical output.
type line struct {
	p         physOut
	activeLow bool
}

func (l line) Set(active bool) error { return l.p.Set(active != l.activeLow) }
func (l line) Name() string          { return l.p.Name() }
func (l line) Close() error          { return l.p.Close() }

// openDriver picks the driver named by gpio.driver; nil for "none".
func openDriver(cfg config.GPIO, o Options) (driver, error) {
	switch cfg.Driver {
	case "none":
		return nil, nil
	case "sim":
		rec := o.Sim
		if rec == nil {
			// A sim kiosk without a recorder from its caller still shows
			// what its lines do, in the log.
			log := o.logger()
			rec = gpiosim.NewRecorder(func(t gpiosim.Transition) {
				log.Info("gpio sim", "line", t.Line, "label", t.Label, "active", t.Active, "high", t.Level)
			})
		}
		return simDriver{rec}, nil
	case "cdev":
		chips, err := cdev.Open()
		if err != nil {
			return nil, fmt.Errorf("gpio.driver cdev: %w", err)
		}
		return cdevDriver{chips: chips, chip: cfg.Chip}, nil
	}
	return nil, fmt.Errorf("gpio.driver: unknown driver %q", cfg.Driver)
}

type simDriver struct{ rec *gpiosim.Recorder }

func (d simDriver) output(key string, l config.Line, label string, high bool) (physOut, error) {
	p, err := d.rec.RequestOutput(l.Name, label, l.ActiveLow, high)
	if err != nil {
		return nil, fmt.Errorf("%s.line: %w", key, err)
	}
	return p, nil
}

func (d simDriver) input(key string, in config.Input) (physIn, error) {
	bias := gpiosim.BiasNone
	switch pullOf(in) {
	case cdev.PullUp:
		bias = gpiosim.BiasPullUp
	case cdev.PullDown:
		bias = gpiosim.BiasPullDown
	}
	p, err := d.rec.RequestInput(in.Name, bias)
	if err != nil {
		return nil, fmt.Errorf("%s.line: %w", key, err)
	}
	return p, nil
}

type cdevDriver struct {
	chips *cdev.Chips
	chip  string // gpio.chip
}

func (d cdevDriver) output(key string, l config.Line, label string, high bool) (physOut, error) {
	ref, err := d.chips.Find(d.chip, l.Name)
	if err != nil {
		return nil, cdevErr(key, err)
	}
	p, err := d.chips.RequestOutput(ref, "kioskd "+label, high)
	if err != nil {
		return nil, cdevErr(key, err)
	}
	return p, nil
}

func (d cdevDriver) input(key string, in config.Input) (physIn, error) {
	ref, err := d.chips.Find(d.chip, in.Name)
	if err != nil {
		return nil, cdevErr(key, err)
	}
	p, err := d.chips.RequestInput(ref, pullOf(in))
	if err != nil {
		return nil, cdevErr(key, err)
	}
	return p, nil
}

// cdevErr names the config key to fix, and gpio.chip when it is the chip
// that was not found.
func cdevErr(key string, err error) error {
	if errors.Is(err, cdev.ErrChipNotFound) {
		return fmt.Errorf("gpio.chip / %s.line: %w", key, err)
	}
	return fmt.Errorf("%s.line: %w", key, err)
}

// pullOf resolves gpio.*.pull; auto pulls towards the inactive level so a
// disconnected input reads "not asserted".
func pullOf(in config.Input) cdev.Pull {
	switch in.Pull {
	case "up":
		return cdev.PullUp
	case "down":
		return cdev.PullDown
	case "none":
		return cdev.PullNone
	}
	if in.ActiveLow {
		return cdev.PullUp
	}
	return cdev.PullDown
}
