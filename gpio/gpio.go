package gpio

// Pattern is what the outputs show.
type Pattern uint8

const (
	Idle     Pattern = iota // everything at its safe level
	Starting                // kioskd is starting (cache loading, camera opening)
	Accept                  // green, relay pulse, short high beep
	Reject                  // red, two low beeps; never the relay
	Fault                   // camera down, cache stale or clock untrusted: slow red blink
)

func (p Pattern) String() string {
	switch p {
	case Idle:
		return "idle"
	case Starting:
		return "starting"
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Fault:
		return "fault"
	}
	return "invalid"
}

// Signal is the kiosk's output side. Its methods never block on the hardware
// for longer than a line write: patterns and the relay pulse are timed by the
// driver's own goroutine, so a stalled pipeline cannot hold the door open.
type Signal interface {
	// Show starts a pattern. Accept pulses the relay (a new accept while it is
	// open extends the pulse); Reject never touches the relay.
	Show(p Pattern)
	// SetFault turns the standing fault indication on or off (shown while idle).
	SetFault(on bool)
	// Close drives every output to its safe level and releases the lines.
	Close() error
}
