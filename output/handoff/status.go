package handoff

import (
	"fmt"
	"time"
)

// Status is one output's state for `kioskd status`, the status page and
// the metrics.
type Status struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Target string `json:"target"` // without credentials or query
	// Connected is set for outputs that keep a connection (mqtt).
	Connected *bool `json:"connected,omitempty"`
	// Queued messages wait for the receiver; Dropped were pushed out of a
	// full queue (or never reached it), ever.
	Queued  int    `json:"queued"`
	Dropped uint64 `json:"dropped"`
	// Delivered and Refused (for good, by the receiver) since start.
	Delivered uint64 `json:"delivered"`
	Refused   uint64 `json:"refused"`
	// Failures in a row, the last one's error, since when, and when the
	// next attempt is due; zero while deliveries succeed.
	Failures     int       `json:"failures"`
	LastError    string    `json:"last_error,omitempty"`
	FailingSince time.Time `json:"failing_since,omitzero"`
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
	// LastDelivered and LastLatency describe the last success.
	LastDelivered time.Time     `json:"last_delivered,omitzero"`
	LastLatency   time.Duration `json:"last_latency_ns"`
	// Slow: the last delivery took longer than Options.SlowAfter.
	Slow bool `json:"slow,omitempty"`
}

// Status returns every output's state, in configuration order. The
// messages lost before reaching any queue count as dropped for each.
func (h *Hub) Status() []Status {
	if h == nil {
		return nil
	}
	lost := h.lost.Load()
	out := make([]Status, 0, len(h.outs))
	for _, o := range h.outs {
		s := Status{Name: o.Name, Kind: o.Kind, Target: o.Target, Delivered: o.delivered.Load(), Refused: o.refused.Load(), Dropped: lost}
		if c, ok := o.Sender.(Connector); ok {
			up := c.Connected()
			s.Connected = &up
		}
		if q, err := h.o.Queue.HandoffQueueOf(o.Name); err == nil {
			s.Queued, s.Dropped = q.Queued, q.Dropped+lost
		}
		o.mu.Lock()
		s.Failures, s.LastError, s.FailingSince, s.NextAttempt = o.failures, o.lastErr, o.failingSince, o.next
		s.LastDelivered, s.LastLatency = o.lastOK, o.lastLatency
		o.mu.Unlock()
		s.Slow = s.LastLatency > h.o.SlowAfter
		out = append(out, s)
	}
	return out
}

// Problem is a one-line description of what is wrong with the output, for
// the status page's problem list, or "" when nothing is.
func (s Status) Problem(now time.Time) string {
	what := fmt.Sprintf("output %s (%s)", s.Name, s.Kind)
	switch {
	case s.Failures > 0:
		return fmt.Sprintf("%s: delivery failing for %s (%d attempts), %d queued: %s", what,
			now.Sub(s.FailingSince).Round(time.Second), s.Failures, s.Queued, s.LastError)
	case s.Slow:
		return fmt.Sprintf("%s: receiver slow, the last delivery took %s, %d queued", what,
			s.LastLatency.Round(time.Millisecond), s.Queued)
	}
	return ""
}
