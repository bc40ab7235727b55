package serial

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kioskd/kioskd/input"
)

// KindName is the input kind this package registers: an inputs: entry with
// kind: serial.
const KindName = "serial"

func init() {
	input.Register(KindName, input.Kind{Open: open, Check: check})
}

// Config is an inputs: entry of kind serial, its own keys (kind and name
// are the list's):
//
//	inputs:
//	  - kind: serial
//	    name: door-scanner
//	    device: /dev/serial/by-id/usb-…-if00     # or /dev/serial0 (the Pi's UART)
//	    baud: 9600                               # data_bits 8, parity none, stop_bits 1
//	    terminator: cr                           # cr | lf | crlf
//	    trigger: "\x16T\r"                       # optional: modules that scan on command
//	    trigger_interval: 3s
type Config struct {
	Device          string        `yaml:"device"`
	Baud            int           `yaml:"baud"`
	DataBits        int           `yaml:"data_bits"`
	Parity          string        `yaml:"parity"`
	StopBits        int           `yaml:"stop_bits"`
	Terminator      string        `yaml:"terminator"`
	Trigger         string        `yaml:"trigger"`
	TriggerInterval time.Duration `yaml:"trigger_interval"`
}

// options checks c and maps it onto the Reader's Options; errors name the key.
func (c Config) options() (Options, error) {
	o := Options{Device: c.Device, Baud: c.Baud, DataBits: c.DataBits, StopBits: c.StopBits,
		Trigger: []byte(c.Trigger), TriggerEvery: c.TriggerInterval}
	switch {
	case c.Device == "":
		return o, errors.New("device: is required (a /dev/serial/by-id/… path survives replugging)")
	case !filepath.IsAbs(c.Device):
		return o, fmt.Errorf("device: must be an absolute path, not %q", c.Device)
	case c.Baud != 0 && (c.Baud < 50 || c.Baud > 4000000):
		return o, fmt.Errorf("baud: must be between 50 and 4000000, not %d", c.Baud)
	case c.DataBits != 0 && c.DataBits != 7 && c.DataBits != 8:
		return o, fmt.Errorf("data_bits: must be 7 or 8, not %d", c.DataBits)
	case c.StopBits != 0 && c.StopBits != 1 && c.StopBits != 2:
		return o, fmt.Errorf("stop_bits: must be 1 or 2, not %d", c.StopBits)
	case len(c.Trigger) > 64:
		return o, errors.New("trigger: must be at most 64 bytes")
	case c.TriggerInterval != 0 && (c.TriggerInterval < 100*time.Millisecond || c.TriggerInterval > time.Hour):
		return o, fmt.Errorf("trigger_interval: must be between 100ms and 1h, not %v", c.TriggerInterval)
	}
	if c.Parity != "" {
		p, err := ParseParity(c.Parity)
		if err != nil {
			return o, fmt.Errorf("parity: must be none, even or odd, not %q", c.Parity)
		}
		o.Parity = p
	}
	if c.Terminator != "" {
		t, err := ParseTerminator(c.Terminator)
		if err != nil {
			return o, fmt.Errorf("terminator: must be cr, lf or crlf, not %q", c.Terminator)
		}
		o.Terminator = t
	}
	return o, nil
}

func check(decode func(any) error) error {
	var c Config
	if err := decode(&c); err != nil {
		return err
	}
	_, err := c.options()
	return err
}

func open(_ context.Context, s input.Spec) (input.Input, error) {
	var c Config
	if err := s.Decode(&c); err != nil {
		return nil, err
	}
	o, err := c.options()
	if err != nil {
		return nil, err
	}
	o.Logger, o.OnState = s.Logger, s.OnState
	return New(o)
}
