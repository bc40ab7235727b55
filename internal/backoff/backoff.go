// Package backoff is kioskd's one retry delay: a capped exponential, spread
// by jitter so a fleet of kiosks that lost the network (or the broker, or
// Authsignal) together does not come back in lockstep. The sync, the event
// upload, the display mode and the camera all wait by it.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy is Min after the first failure, doubled per further failure up to
// Max, each delay d then spread uniformly over [d·Low, d·High].
type Policy struct {
	// Min is the first delay; 0 = 1 s. Max caps the doubling (below Min:
	// Min).
	Min, Max time.Duration
	// Low and High spread a delay d over [d·Low, d·High): 0.5 and 1 is
	// "equal jitter" (never shorter than half), 0.8 and 1.2 is ±20 %. Both
	// 0: no spread, d itself.
	Low, High float64
	// Rand returns a float in [0,1); nil = math/rand/v2.
	Rand func() float64
}

// Delay is the wait after the n-th consecutive failure (n >= 1; less
// counts as 1).
func (p Policy) Delay(n int) time.Duration {
	lo, hi := p.Min, p.Max
	if lo <= 0 {
		lo = time.Second
	}
	hi = max(hi, lo)
	d := lo
	// Doubling stops at the cap, so a long outage cannot overflow.
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	if p.Low == 0 && p.High == 0 {
		return d
	}
	r := p.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(float64(d) * (p.Low + r()*(p.High-p.Low)))
}

// Retry counts consecutive failures for one Policy: Next after each
// failure, Reset after a success. Not safe for concurrent use: it belongs
// to the loop retrying.
type Retry struct {
	Policy Policy
	n      int
}

// Next counts a failure and returns the wait before the next attempt.
func (r *Retry) Next() time.Duration {
	r.n++
	return r.Policy.Delay(r.n)
}

// Reset starts over after a success.
func (r *Retry) Reset() { r.n = 0 }
