package hid

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kioskd/kioskd/input"
)

// KindName is the input kind this package registers: an inputs: entry with
// kind: hid.
const KindName = "hid"

func init() {
	input.Register(KindName, input.Kind{Open: open, Check: check})
}

// Config is an inputs: entry of kind hid, its own keys (kind and name are
// the list's):
//
//	inputs:
//	  - kind: hid
//	    name: door-scanner
//	    device: /dev/input/by-id/usb-…-event-kbd
//	    terminator: enter      # or tab
//	    key_timeout: 200ms
type Config struct {
	Device     string        `yaml:"device"`
	Terminator string        `yaml:"terminator"`
	KeyTimeout time.Duration `yaml:"key_timeout"`
}

// options checks c and maps it onto the Reader's Options; errors name the key.
func (c Config) options() (Options, error) {
	if c.Device == "" {
		return Options{}, errors.New("device: is required (a /dev/input/by-id/…-event-kbd path survives replugging)")
	}
	if !filepath.IsAbs(c.Device) {
		return Options{}, fmt.Errorf("device: must be an absolute path, not %q", c.Device)
	}
	term := Enter
	if c.Terminator != "" {
		t, err := ParseTerminator(c.Terminator)
		if err != nil {
			return Options{}, fmt.Errorf("terminator: must be enter or tab, not %q", c.Terminator)
		}
		term = t
	}
	if c.KeyTimeout != 0 && (c.KeyTimeout < time.Millisecond || c.KeyTimeout > 10*time.Second) {
		return Options{}, fmt.Errorf("key_timeout: must be between 1ms and 10s, not %v", c.KeyTimeout)
	}
	return Options{Device: c.Device, Terminator: term, KeyTimeout: c.KeyTimeout}, nil
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
