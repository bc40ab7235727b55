package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ScanInput is one entry of `inputs:`, a scanner or the camera a code is read
// at (issue 20). Without `inputs:` the kiosk has one input, the camera of
// the `camera:` section, named "camera": configurations from before
// `inputs:` are unchanged.
type ScanInput struct {
	// Name names the input in events, logs, status and metrics (default:
	// its type; two inputs of one type need names).
	Name string `yaml:"name"`
	// Type is camera, hid (a USB keyboard-wedge scanner) or serial (a
	// USB-CDC or UART scanner module).
	Type string `yaml:"type"`
	// Device is the device path: /dev/input/by-id/…-event-kbd (hid),
	// /dev/serial/by-id/… or /dev/serial0 (serial); for the camera, what
	// camera.source takes (default: camera.source).
	Device string `yaml:"device"`
	// Rearm is how long a code must be away before the scanner's next read
	// of it counts again (default 2s): scanners re-send a code while it is
	// held. The camera's is camera.rearm.
	Rearm time.Duration `yaml:"rearm"`
	// Terminator ends each read: enter or tab (hid, default enter); cr, lf
	// or crlf (serial, default cr).
	Terminator string `yaml:"terminator"`
	// KeyTimeout (hid) drops a half-typed read when the next key comes
	// later than this (default 200ms).
	KeyTimeout time.Duration `yaml:"key_timeout"`
	// Baud, DataBits, Parity and StopBits are the serial line's settings
	// (defaults 9600, 8, none, 1: most modules' factory setting).
	Baud     int    `yaml:"baud"`
	DataBits int    `yaml:"data_bits"`
	Parity   string `yaml:"parity"`
	StopBits int    `yaml:"stop_bits"`
	// Trigger (serial) is sent to a module that scans on command: when the
	// port opens, after each read and every TriggerInterval (default 3s).
	// YAML's double-quoted escapes write control bytes: "\x16T\r".
	Trigger         string        `yaml:"trigger"`
	TriggerInterval time.Duration `yaml:"trigger_interval"`
}

// Input types.
const (
	InputCamera = "camera"
	InputHID    = "hid"
	InputSerial = "serial"
)

// DefaultInputRearm is a scanner input's default rearm.
const DefaultInputRearm = 2 * time.Second

var inputName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Inputs returns the inputs the kiosk reads codes at: the `inputs:` list, or
// when it is empty the camera alone.
func (c *Config) Inputs() []ScanInput {
	if len(c.InputList) == 0 {
		return []ScanInput{{Name: InputCamera, Type: InputCamera, Device: c.Camera.Source}}
	}
	return c.InputList
}

// CameraInput returns the camera input, if the kiosk has one.
func (c *Config) CameraInput() (ScanInput, bool) {
	for _, in := range c.Inputs() {
		if in.Type == InputCamera {
			return in, true
		}
	}
	return ScanInput{}, false
}

// validateInputs checks `inputs:` and fills in each entry's defaults. A
// camera entry's device becomes camera.source, so everything that reads the
// camera's settings sees the one in use.
func (c *Config) validateInputs() error {
	names := map[string]bool{}
	cameras := 0
	for i := range c.InputList {
		in := &c.InputList[i]
		key := func(k string) string { return fmt.Sprintf("inputs[%d].%s", i, k) }
		switch in.Type {
		case InputCamera, InputHID, InputSerial:
		case "":
			return keyErr(key("type"), "is required: camera, hid or serial")
		default:
			return keyErr(key("type"), "must be camera, hid or serial, not %q", in.Type)
		}
		if in.Name == "" {
			in.Name = in.Type
		}
		if !inputName.MatchString(in.Name) {
			return keyErr(key("name"), "must be 1 to 32 of a-z, 0-9, - and _ (it names metrics series), not %q", in.Name)
		}
		if names[in.Name] {
			return keyErr(key("name"), "%q is used twice: give each input its own name", in.Name)
		}
		names[in.Name] = true
		// Keys of another type are a mistake worth stopping for: a baud
		// rate on a keyboard scanner means the wrong type was chosen.
		only := func(k, typ string, set bool) error {
			if set && in.Type != typ {
				return keyErr(key(k), "applies to type %s only, not %s", typ, in.Type)
			}
			return nil
		}
		for _, o := range []struct {
			k, typ string
			set    bool
		}{
			{"key_timeout", InputHID, in.KeyTimeout != 0},
			{"baud", InputSerial, in.Baud != 0}, {"data_bits", InputSerial, in.DataBits != 0},
			{"parity", InputSerial, in.Parity != ""}, {"stop_bits", InputSerial, in.StopBits != 0},
			{"trigger", InputSerial, in.Trigger != ""}, {"trigger_interval", InputSerial, in.TriggerInterval != 0},
		} {
			if err := only(o.k, o.typ, o.set); err != nil {
				return err
			}
		}
		if in.Type == InputCamera {
			cameras++
			if cameras > 1 {
				return keyErr(key("type"), "only one camera input is supported")
			}
			if in.Rearm != 0 || in.Terminator != "" {
				return keyErr(key("type"), "a camera input takes name and device only: its other settings are under camera:")
			}
			if in.Device != "" {
				in.Device = strings.TrimSpace(in.Device)
				cam := c.Camera
				cam.Source = in.Device
				if err := cam.validate(); err != nil {
					return keyErr(key("device"), "%v", err)
				}
				c.Camera.Source = in.Device
			} else {
				in.Device = c.Camera.Source
			}
			continue
		}
		if in.Device == "" {
			return keyErr(key("device"), "is required (a /dev/input/by-id/… or /dev/serial/by-id/… path survives replugging)")
		}
		if !filepath.IsAbs(in.Device) {
			return keyErr(key("device"), "must be an absolute path, not %q", in.Device)
		}
		if in.Rearm < 0 || in.Rearm > time.Hour {
			return keyErr(key("rearm"), "must be between 0 and 1h, not %v", in.Rearm)
		}
		if in.Rearm == 0 {
			in.Rearm = DefaultInputRearm
		}
		switch in.Type {
		case InputHID:
			if in.Terminator == "" {
				in.Terminator = "enter"
			}
			if in.Terminator != "enter" && in.Terminator != "tab" {
				return keyErr(key("terminator"), "must be enter or tab for a hid scanner, not %q", in.Terminator)
			}
			if in.KeyTimeout == 0 {
				in.KeyTimeout = 200 * time.Millisecond
			}
			if in.KeyTimeout < time.Millisecond || in.KeyTimeout > 10*time.Second {
				return keyErr(key("key_timeout"), "must be between 1ms and 10s, not %v", in.KeyTimeout)
			}
		case InputSerial:
			if in.Terminator == "" {
				in.Terminator = "cr"
			}
			switch in.Terminator {
			case "cr", "lf", "crlf":
			default:
				return keyErr(key("terminator"), "must be cr, lf or crlf for a serial scanner, not %q", in.Terminator)
			}
			if in.Baud == 0 {
				in.Baud = 9600
			}
			if in.Baud < 50 || in.Baud > 4000000 {
				return keyErr(key("baud"), "must be between 50 and 4000000, not %d", in.Baud)
			}
			if in.DataBits == 0 {
				in.DataBits = 8
			}
			if in.DataBits != 7 && in.DataBits != 8 {
				return keyErr(key("data_bits"), "must be 7 or 8, not %d", in.DataBits)
			}
			if in.Parity == "" {
				in.Parity = "none"
			}
			switch in.Parity {
			case "none", "even", "odd":
			default:
				return keyErr(key("parity"), "must be none, even or odd, not %q", in.Parity)
			}
			if in.StopBits == 0 {
				in.StopBits = 1
			}
			if in.StopBits != 1 && in.StopBits != 2 {
				return keyErr(key("stop_bits"), "must be 1 or 2, not %d", in.StopBits)
			}
			if len(in.Trigger) > 64 {
				return keyErr(key("trigger"), "must be at most 64 bytes")
			}
			if in.TriggerInterval == 0 {
				in.TriggerInterval = 3 * time.Second
			}
			if in.TriggerInterval < 100*time.Millisecond || in.TriggerInterval > time.Hour {
				return keyErr(key("trigger_interval"), "must be between 100ms and 1h, not %v", in.TriggerInterval)
			}
		}
	}
	return nil
}
