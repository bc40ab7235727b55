package config

import (
	"strconv"
	"strings"
	"time"
)

// GPIO is the output (and optional input) side. See the gpio package
// documentation for wiring, active-low boards and fail modes.
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
	Name      string `yaml:"line"`
	ActiveLow bool   `yaml:"active_low"`
	// Pull is the line's internal bias: auto (default: towards the inactive
	// level, so a disconnected button reads "not pressed"), up, down or none
	// (external resistors).
	Pull     string        `yaml:"pull"`
	Debounce time.Duration `yaml:"debounce"`
}

func defaultGPIO() GPIO {
	return GPIO{Driver: "cdev", AcceptFor: 1500 * time.Millisecond, RejectFor: 1500 * time.Millisecond}
}

func (g *GPIO) validate() error {
	// Which drivers exist is the gpio registry's to say (a driver is a
	// package that registers itself): the assembler checks the name at
	// load, naming this key.
	if strings.TrimSpace(g.Driver) == "" {
		return keyErr("gpio.driver", "must name a driver (cdev, sim or none)")
	}
	// Every configured line, in a fixed order so the first error is stable.
	type named struct{ key, line string }
	var lines []named
	for _, o := range []struct {
		key string
		l   *Line
	}{{"gpio.accept_led", g.AcceptLED}, {"gpio.reject_led", g.RejectLED}, {"gpio.buzzer", g.Buzzer}} {
		if o.l == nil {
			continue
		}
		if err := validLineName(o.key+".line", o.l.Name); err != nil {
			return err
		}
		lines = append(lines, named{o.key, o.l.Name})
	}
	if g.Relay != nil {
		if err := validLineName("gpio.relay.line", g.Relay.Name); err != nil {
			return err
		}
		lines = append(lines, named{"gpio.relay", g.Relay.Name})
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
	for _, i := range []struct {
		key string
		in  *Input
	}{{"gpio.exit_button", g.ExitButton}, {"gpio.door_contact", g.DoorContact}} {
		in := i.in
		if in == nil {
			continue
		}
		if err := validLineName(i.key+".line", in.Name); err != nil {
			return err
		}
		lines = append(lines, named{i.key, in.Name})
		switch in.Pull {
		case "":
			in.Pull = "auto"
		case "auto", "up", "down", "none":
		default:
			return keyErr(i.key+".pull", "must be auto, up, down or none, not %q", in.Pull)
		}
		if in.Debounce == 0 {
			in.Debounce = 50 * time.Millisecond
		}
		if in.Debounce < time.Millisecond || in.Debounce > 5*time.Second {
			return keyErr(i.key+".debounce", "must be between 1ms and 5s, not %v", in.Debounce)
		}
	}
	// The same line twice is a wiring mistake (and the second request would
	// fail as busy at start-up, far from the typo).
	for i := range lines {
		for j := i + 1; j < len(lines); j++ {
			if lines[i].line == lines[j].line {
				return keyErr(lines[j].key+".line", "%s is already used by %s", lines[j].line, lines[i].key)
			}
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"gpio.accept_for", g.AcceptFor}, {"gpio.reject_for", g.RejectFor}} {
		if d.v < 100*time.Millisecond || d.v > time.Minute {
			return keyErr(d.key, "must be between 100ms and 1m, not %v", d.v)
		}
	}
	return nil
}

// validLineName accepts a line name (GPIO17) or chip:offset (gpiochip0:17).
func validLineName(key, name string) error {
	if strings.TrimSpace(name) == "" {
		return keyErr(key, "must not be empty")
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		chip, off := name[:i], name[i+1:]
		if n, err := strconv.Atoi(off); chip == "" || err != nil || n < 0 {
			return keyErr(key, "%q is not a line name or chip:offset (e.g. GPIO17 or gpiochip0:17)", name)
		}
	}
	return nil
}
