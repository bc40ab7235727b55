// Package input is the contract between kioskd and the scanners that read a
// code for it and hand over its text: a USB keyboard-wedge scanner (package
// input/hid), a serial or UART scanner module (package input/serial), a
// simulated scanner (the demo).
//
// A Reader runs until its context ends. It opens its device, reports every
// change of the device's health through its OnState callback, hands each
// complete read to the callback given to Run, and when the device
// disappears (unplugged, a USB reset) closes it and opens it again once it
// is back: the daemon never restarts for a scanner. Run returns nil when the
// context ends and an error only for a fault no retry can mend (a setting
// the device refuses).
//
// What happens to the text (the payload rule, same-code suppression,
// verify, signal, record) is not a reader's business: kiosk.Decider does it
// for every lane, the camera's included. Readers never log a read's text: a
// code is a bearer secret.
package input

import (
	"context"
	"time"
)

// Scan is one complete read: the text a scanner sent up to its terminator.
type Scan struct {
	Text string
	// At is when the terminator arrived.
	At time.Time
}

// State is a reader's health, for the fault pattern and the status page.
type State struct {
	Up bool
	// Detail is what is open (the device path) or the fault.
	Detail string
	Err    error
}

// Reader is a scanner that produces Scans.
type Reader interface {
	// Run reads until ctx ends, calling emit for each complete read from
	// the goroutine running Run.
	Run(ctx context.Context, emit func(Scan)) error
	// Describe names the device, for logs and the status page.
	Describe() string
}

// MaxText bounds one read: a kiosk code in its URL form is well under 512
// characters; a scanner streaming without terminators (a wrong terminator
// setting) must not grow a buffer for ever.
const MaxText = 1024

// Backoff is the capped exponential delay between attempts to reopen a
// device that is away.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the delay before the next attempt and doubles it, up to Max.
func (b *Backoff) Next() time.Duration {
	if b.cur < b.Min {
		b.cur = b.Min
	}
	d := b.cur
	b.cur = min(2*b.cur, b.Max)
	return d
}

// Reset starts over after the device opened.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d or until ctx ends, reporting whether the wait was whole.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Reporter calls OnState on changes only, so a device that stays away
// through many attempts is one "down", not one per attempt.
type Reporter struct {
	OnState func(State)
	last    State
	seen    bool
}

// Report forwards s if it differs from the last state reported.
func (r *Reporter) Report(s State) {
	if r.seen && r.last.Up == s.Up && r.last.Detail == s.Detail {
		return
	}
	r.last, r.seen = s, true
	if r.OnState != nil {
		r.OnState(s)
	}
}
