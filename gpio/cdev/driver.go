package cdev

import (
	"errors"
	"fmt"

	"github.com/kioskd/kioskd/gpio"
)

// The cdev driver of package gpio (gpio.driver: cdev): lines found by name
// or chip:offset on the kernel's GPIO character devices.
func init() {
	gpio.RegisterDriver("cdev", func(o gpio.DriverOptions) (gpio.Driver, error) {
		chips, err := Open()
		if err != nil {
			return nil, err
		}
		return driver{chips: chips, chip: o.Chip}, nil
	})
}

type driver struct {
	chips *Chips
	chip  string // gpio.chip
}

func (d driver) Output(key string, l gpio.LineConfig, label string, high bool) (gpio.PhysOut, error) {
	ref, err := d.chips.Find(d.chip, l.Name)
	if err != nil {
		return nil, keyErr(key, err)
	}
	p, err := d.chips.RequestOutput(ref, "kioskd "+label, high)
	if err != nil {
		return nil, keyErr(key, err)
	}
	return p, nil
}

func (d driver) Input(key string, in gpio.InputConfig, pull gpio.Pull) (gpio.PhysIn, error) {
	ref, err := d.chips.Find(d.chip, in.Name)
	if err != nil {
		return nil, keyErr(key, err)
	}
	bias := PullNone
	switch pull {
	case gpio.PullUp:
		bias = PullUp
	case gpio.PullDown:
		bias = PullDown
	}
	p, err := d.chips.RequestInput(ref, bias)
	if err != nil {
		return nil, keyErr(key, err)
	}
	return p, nil
}

// keyErr names the config key to fix, and gpio.chip when it is the chip
// that was not found.
func keyErr(key string, err error) error {
	if errors.Is(err, ErrChipNotFound) {
		return fmt.Errorf("gpio.chip / %s.line: %w", key, err)
	}
	return fmt.Errorf("%s.line: %w", key, err)
}
