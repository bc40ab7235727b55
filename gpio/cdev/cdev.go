// Package cdev is kioskd's driver for the Linux GPIO character device
// (/dev/gpiochip*, the v2 uAPI), the interface of Raspberry Pi 4 (pinctrl-bcm2711)
// and Pi 5 (pinctrl-rp1) alike.
//
// Chips and lines are found through periph.io/x/host/v3/gpioioctl, which
// enumerates every /dev/gpiochip* once per process (driverreg.Init; only the
// gpioioctl driver is linked in, not every periph host driver). Inputs are
// periph GPIOLines (edge events through WaitForEdge, or polling where the chip
// has no edge interrupts).
//
// Outputs are requested by this package with one GPIO_V2_GET_LINE ioctl that
// carries the initial output value: periph's Out() first makes the line an
// output at low and only then writes the level, which would pulse an
// active-low relay board at every start. Requested this way, the line goes
// from whatever it was (an input with its reset pull, at boot) straight to
// the level asked for. Output lines are never read back: periph's Read() on
// an output turns it into an input with a pull-up.
package cdev

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/host/v3/gpioioctl"
)

// Errors a caller may want to tell apart; the returned errors wrap them with
// the chip and line concerned.
var (
	ErrNoChips      = errors.New("no GPIO chip found")
	ErrChipNotFound = errors.New("GPIO chip not found")
	ErrLineNotFound = errors.New("GPIO line not found")
	ErrBusy         = errors.New("GPIO line busy")
)

// Chips is the set of GPIO chips of this machine.
type Chips struct {
	chips []*gpioioctl.GPIOChip
}

// Open enumerates the GPIO chips. periph does that once per process and
// keeps the result: a chip added later is seen only after a restart.
func Open() (*Chips, error) {
	if _, err := driverreg.Init(); err != nil {
		return nil, fmt.Errorf("initialising periph gpioioctl: %w", err)
	}
	if len(gpioioctl.Chips) == 0 {
		return nil, diagnoseNoChips()
	}
	return &Chips{chips: gpioioctl.Chips}, nil
}

// diagnoseNoChips says why periph found nothing: no device, or no permission.
func diagnoseNoChips() error {
	paths, _ := filepath.Glob("/dev/gpiochip*")
	if len(paths) == 0 {
		return fmt.Errorf("%w: no /dev/gpiochip* on this machine (use gpio.driver sim or none on a machine without GPIO)", ErrNoChips)
	}
	f, err := os.Open(paths[0])
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("%w: %v (add kioskd's user to the gpio group)", ErrNoChips, err)
		}
		return fmt.Errorf("%w: %v", ErrNoChips, err)
	}
	_ = f.Close()
	// periph enumerates once per process: a chip that appeared later (a
	// gpio-sim made after start-up) is not seen until kioskd restarts.
	return fmt.Errorf("%w: %s exists but was not there or not readable when the chips were enumerated at start-up (restart kioskd)", ErrNoChips, paths[0])
}

// Ref is a resolved line: which chip, which offset.
type Ref struct {
	ChipPath  string // /dev/gpiochip0
	ChipName  string // gpiochip0
	ChipLabel string // pinctrl-bcm2711
	Offset    int
	Name      string // the line's name on the chip ("" if it has none)
	spec      string // as configured
	line      *gpioioctl.GPIOLine
}

func (r Ref) String() string {
	loc := fmt.Sprintf("%s:%d", r.ChipName, r.Offset)
	switch {
	case r.spec != "" && r.spec != loc:
		return r.spec + " (" + loc + ")"
	case r.Name != "":
		return loc + " (" + r.Name + ")"
	}
	return loc
}

// Find resolves a configured line: a name (GPIO17), looked up on chip (by
// name, label or /dev path) or, if chip is empty, on every chip; or
// chip:offset (gpiochip0:17, pinctrl-rp1:17), where the chip part wins over
// chip.
func (c *Chips) Find(chip, line string) (Ref, error) {
	if i := strings.LastIndexByte(line, ':'); i >= 0 {
		off, err := strconv.Atoi(line[i+1:])
		if err != nil || off < 0 {
			return Ref{}, fmt.Errorf("%q is not a line name or chip:offset", line)
		}
		ch, err := c.chip(line[:i])
		if err != nil {
			return Ref{}, err
		}
		if off >= ch.LineCount() {
			return Ref{}, fmt.Errorf("%w: %s has lines 0..%d, not %d", ErrLineNotFound, ch.Name(), ch.LineCount()-1, off)
		}
		return refOf(ch, ch.ByNumber(off), line), nil
	}
	search := c.chips
	if chip != "" {
		ch, err := c.chip(chip)
		if err != nil {
			return Ref{}, err
		}
		search = []*gpioioctl.GPIOChip{ch}
	}
	var found []Ref
	for _, ch := range search {
		for _, l := range ch.Lines() {
			// periph renames a name found on two chips to "chip-name".
			if l.Name() == line || l.Name() == ch.Name()+"-"+line {
				found = append(found, refOf(ch, l, line))
			}
		}
	}
	switch len(found) {
	case 0:
		where := "any chip (" + c.names() + ")"
		if chip != "" {
			where = chip
		}
		return Ref{}, fmt.Errorf("%w: no line named %q on %s; use chip:offset for unnamed lines", ErrLineNotFound, line, where)
	case 1:
		return found[0], nil
	}
	var on []string
	for _, r := range found {
		on = append(on, r.ChipName)
	}
	return Ref{}, fmt.Errorf("line %q is on several chips (%s): set gpio.chip", line, strings.Join(on, ", "))
}

func refOf(ch *gpioioctl.GPIOChip, l *gpioioctl.GPIOLine, spec string) Ref {
	return Ref{ChipPath: ch.Path(), ChipName: ch.Name(), ChipLabel: ch.Label(), Offset: l.Number(), Name: l.Name(), spec: spec, line: l}
}

func (c *Chips) chip(spec string) (*gpioioctl.GPIOChip, error) {
	for _, ch := range c.chips {
		if spec == ch.Name() || spec == ch.Label() || spec == ch.Path() {
			return ch, nil
		}
	}
	return nil, fmt.Errorf("%w: %q is not the name, label or path of any chip (%s)", ErrChipNotFound, spec, c.names())
}

// names lists the chips for error messages: "gpiochip0 [pinctrl-rp1], ...".
func (c *Chips) names() string {
	var s []string
	for _, ch := range c.chips {
		s = append(s, ch.Name()+" ["+ch.Label()+"]")
	}
	return strings.Join(s, ", ")
}

// busyErr turns a request failure into ErrBusy where it is one, naming the
// line's holder when the kernel told us at enumeration. periph flattens
// errnos into strings, hence the string comparison as a fallback.
func busyErr(r Ref, err error) error {
	if errors.Is(err, syscall.EBUSY) || strings.Contains(err.Error(), syscall.EBUSY.Error()) {
		holder := "another process or a kernel driver (see gpioinfo)"
		if r.line != nil && r.line.Consumer() != "" {
			holder = fmt.Sprintf("%q", r.line.Consumer())
		}
		return fmt.Errorf("%w: %s is in use by %s", ErrBusy, r, holder)
	}
	return fmt.Errorf("requesting %s: %w", r, err)
}
