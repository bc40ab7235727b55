package gpio

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/gpio/gpiosim"
	"github.com/kioskd/kioskd/internal/registry"
)

// Pull is an input's internal bias.
type Pull uint8

const (
	PullNone Pull = iota // leave the bias as it is (external resistors)
	PullUp
	PullDown
)

func (p Pull) String() string {
	switch p {
	case PullUp:
		return "up"
	case PullDown:
		return "down"
	}
	return "none"
}

// PhysOut is an output at its physical level, as a driver hands it out:
// already driven at the level it was requested with.
type PhysOut interface {
	Set(high bool) error
	Name() string
	Close() error
}

// PhysIn is an input at its physical level.
type PhysIn interface {
	Read() (high bool, err error)
	// Wait blocks until an edge (edge = true), d elapsed (d <= 0: a driver
	// chosen interval) or ctx done. It may return early without an edge.
	Wait(ctx context.Context, d time.Duration) (edge bool, err error)
	Name() string
	Close() error
}

// Driver hands out lines. Outputs come into existence at their initial
// level: there is no moment where a line is an output at some other level.
// key is the config key to name in errors (gpio.relay).
type Driver interface {
	Output(key string, l LineConfig, label string, initialHigh bool) (PhysOut, error)
	// Input requests in with pull, the bias resolved from in.Pull.
	Input(key string, in InputConfig, pull Pull) (PhysIn, error)
}

// DriverOptions are what a driver is opened with.
type DriverOptions struct {
	// Chip is gpio.chip: the default chip; "" = every chip.
	Chip string
	// Logger is never nil.
	Logger *slog.Logger
	// Sim is the sim driver's recorder; nil = one that logs.
	Sim *gpiosim.Recorder
}

// OpenDriver opens a driver; a nil Driver (and no error) means no lines
// (the "none" driver).
type OpenDriver func(DriverOptions) (Driver, error)

var drivers = registry.New[OpenDriver]("gpio.driver")

// RegisterDriver adds a driver under the name gpio.driver gives; call it
// from init(). It panics on a duplicate name.
func RegisterDriver(name string, open OpenDriver) { drivers.Register(name, open) }

// Drivers lists the registered drivers.
func Drivers() []string { return drivers.Names() }

// CheckDriver reports whether name is a registered driver, as an error
// naming gpio.driver.
func CheckDriver(name string) error {
	_, err := drivers.Lookup(name)
	return err
}

func init() {
	RegisterDriver("none", func(DriverOptions) (Driver, error) { return nil, nil })
}

// openDriver opens the driver cfg names; nil for "none".
func openDriver(cfg Config, o Options) (Driver, error) {
	open, err := drivers.Lookup(cfg.Driver)
	if err != nil {
		return nil, err
	}
	d, err := open(DriverOptions{Chip: cfg.Chip, Logger: o.logger(), Sim: o.Sim})
	if err != nil {
		return nil, fmt.Errorf("gpio.driver %s: %w", cfg.Driver, err)
	}
	return d, nil
}
