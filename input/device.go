package input

import (
	"context"
	"time"

	"github.com/kioskd/kioskd/scanner"
)

// What the device-backed kinds (input/hid, input/serial) share: a bound on
// one read, the reopen backoff and state reports on changes only. A reader
// opens its device in Read, reports every change of its health through
// Spec.OnState, and when the device disappears (unplugged, a USB reset)
// closes it and opens it again once it is back: the daemon never restarts
// for a scanner. Readers never log a read's text: a code is a bearer secret.

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
	OnState func(scanner.State)
	last    scanner.State
	seen    bool
}

// Report forwards s if it differs from the last state reported.
func (r *Reporter) Report(s scanner.State) {
	if r.seen && r.last.Up == s.Up && r.last.Detail == s.Detail {
		return
	}
	r.last, r.seen = s, true
	if r.OnState != nil {
		r.OnState(s)
	}
}
