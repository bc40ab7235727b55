package config

import (
	"time"
)

// GPIO is the output (and optional input) side.
type GPIO struct {
	// Driver is cdev (GPIO character device through periph gpioioctl), sim
	// (records transitions, for the demo and tests) or none (display-only kiosk).
	Driver string `yaml:"driver"`
	// Chip is the default gpiochip, by name (gpiochip0) or label (pinctrl-rp1);
	// empty = look the line name up on every chip.
	Chip string `yaml:"chip"`

	AcceptLED *Line  `yaml:"accept_led"`
	RejectLED *Line  `yaml:"reject_led"`
	Relay     *Relay `yaml:"relay"`
	Buzzer    *Line  `yaml:"buzzer"`

	// Inputs expected by door installers: request-to-exit button and door contact.
	ExitButton  *Input `yaml:"exit_button"`
	DoorContact *Input `yaml:"door_contact"`

	// How long the accept and reject patterns show.
	AcceptFor time.Duration `yaml:"accept_for"`
	RejectFor time.Duration `yaml:"reject_for"`
}

// Line is one output line.
type Line struct {
	// Name is a line name (GPIO17) or chip:offset (gpiochip0:17, pinctrl-rp1:17).
	Name      string `yaml:"line"`
	ActiveLow bool   `yaml:"active_low"`
}

// Relay is the door strike's relay line.
type Relay struct {
	Line `yaml:",inline"`
	// Pulse is how long the door stays unlocked after an accept.
	Pulse time.Duration `yaml:"pulse"`
	// FailMode is "secure" (door stays locked on fault and at shutdown) or
	// "safe" (door unlocks on a fault, for emergency-egress rules).
	FailMode string `yaml:"fail_mode"`
}

// Input is one debounced input line.
type Input struct {
	Name      string        `yaml:"line"`
	ActiveLow bool          `yaml:"active_low"`
	Debounce  time.Duration `yaml:"debounce"`
}

func defaultGPIO() GPIO {
	return GPIO{Driver: "cdev", AcceptFor: 1500 * time.Millisecond, RejectFor: 1500 * time.Millisecond}
}

func (g *GPIO) validate() error {
	switch g.Driver {
	case "cdev", "sim", "none":
	default:
		return keyErr("gpio.driver", "must be cdev, sim or none, not %q", g.Driver)
	}
	for key, l := range map[string]*Line{"gpio.accept_led": g.AcceptLED, "gpio.reject_led": g.RejectLED, "gpio.buzzer": g.Buzzer} {
		if l != nil && l.Name == "" {
			return keyErr(key+".line", "must not be empty")
		}
	}
	if g.Relay != nil {
		if g.Relay.Name == "" {
			return keyErr("gpio.relay.line", "must not be empty")
		}
		if g.Relay.Pulse == 0 {
			g.Relay.Pulse = 3 * time.Second
		}
		if g.Relay.Pulse < 100*time.Millisecond || g.Relay.Pulse > time.Minute {
			return keyErr("gpio.relay.pulse", "must be between 100ms and 1m, not %v", g.Relay.Pulse)
		}
		switch g.Relay.FailMode {
		case "":
			g.Relay.FailMode = "secure"
		case "secure", "safe":
		default:
			return keyErr("gpio.relay.fail_mode", "must be secure or safe, not %q", g.Relay.FailMode)
		}
	}
	for key, in := range map[string]*Input{"gpio.exit_button": g.ExitButton, "gpio.door_contact": g.DoorContact} {
		if in == nil {
			continue
		}
		if in.Name == "" {
			return keyErr(key+".line", "must not be empty")
		}
		if in.Debounce == 0 {
			in.Debounce = 50 * time.Millisecond
		}
		if in.Debounce < 0 || in.Debounce > 5*time.Second {
			return keyErr(key+".debounce", "must be between 0 and 5s")
		}
	}
	if g.AcceptFor <= 0 || g.RejectFor <= 0 {
		return keyErr("gpio.accept_for", "accept_for and reject_for must be positive")
	}
	return nil
}
