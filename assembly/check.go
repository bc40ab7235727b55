package assembly

import (
	"errors"
	"fmt"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/output"
	"github.com/kioskd/kioskd/page"
)

// Check validates what cfg names from the registries, which the config
// package cannot see: the GPIO driver, and each plug-in block through its
// kind's Check. kioskd runs it with every config load (start, SIGHUP,
// the tools), so a name this binary does not have is refused with the key
// named, as a bad value of a built-in key is.
func Check(cfg *config.Config) error {
	var errs []error
	if err := gpio.CheckDriver(cfg.GPIO.Driver); err != nil {
		errs = append(errs, fmt.Errorf("gpio.driver: %w", err))
	}
	for i, p := range cfg.Inputs {
		kind, err := input.Lookup(p.Kind)
		errs = append(errs, checkPlugin("inputs", i, p, kind.Check, err))
	}
	for i, p := range cfg.Outputs {
		kind, err := output.Lookup(p.Kind)
		errs = append(errs, checkPlugin("outputs", i, p, kind.Check, err))
	}
	for i, p := range cfg.HTTP.Pages {
		kind, err := page.Lookup(p.Kind)
		errs = append(errs, checkPlugin("http.pages", i, p, kind.Check, err))
	}
	return errors.Join(errs...)
}

// checkPlugin checks one plug-in entry: its kind exists, and its block
// passes the kind's Check.
func checkPlugin(list string, i int, p config.Plugin, check func(func(any) error) error, lookupErr error) error {
	if lookupErr != nil {
		return fmt.Errorf("%s[%d].kind: %w", list, i, lookupErr)
	}
	if check == nil {
		return nil
	}
	if err := check(p.Decode); err != nil {
		return fmt.Errorf("%s[%d] (%s, line %d): %w", list, i, p.Name, p.Line, err)
	}
	return nil
}

// Load reads, validates and checks the config file at path.
func Load(path string) (config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return cfg, err
	}
	if err := Check(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// GPIOConfig maps the gpio: section onto the gpio package's own Config.
func GPIOConfig(c config.GPIO) gpio.Config {
	line := func(l *config.Line) *gpio.LineConfig {
		if l == nil {
			return nil
		}
		return &gpio.LineConfig{Name: l.Name, ActiveLow: l.ActiveLow}
	}
	input := func(in *config.Input) *gpio.InputConfig {
		if in == nil {
			return nil
		}
		return &gpio.InputConfig{Name: in.Name, ActiveLow: in.ActiveLow, Pull: in.Pull, Debounce: in.Debounce}
	}
	g := gpio.Config{Driver: c.Driver, Chip: c.Chip, AcceptLED: line(c.AcceptLED), RejectLED: line(c.RejectLED),
		Buzzer: line(c.Buzzer), ExitButton: input(c.ExitButton), DoorContact: input(c.DoorContact),
		AcceptFor: c.AcceptFor, RejectFor: c.RejectFor}
	if r := c.Relay; r != nil {
		g.Relay = &gpio.RelayConfig{LineConfig: *line(&r.Line), Pulse: r.Pulse, FailMode: r.FailMode}
	}
	return g
}
