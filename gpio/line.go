package gpio

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

// line applies active-low to a physical output.
type line struct {
	p         PhysOut
	activeLow bool
}

func (l line) Set(active bool) error { return l.p.Set(active != l.activeLow) }
func (l line) Name() string          { return l.p.Name() }
func (l line) Close() error          { return l.p.Close() }

// pullOf resolves gpio.*.pull; auto pulls towards the inactive level so a
// disconnected input reads "not asserted".
func pullOf(in InputConfig) Pull {
	switch in.Pull {
	case "up":
		return PullUp
	case "down":
		return PullDown
	case "none":
		return PullNone
	}
	if in.ActiveLow {
		return PullUp
	}
	return PullDown
}
