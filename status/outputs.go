package status

import (
	"fmt"
	"strings"
	"time"
)

// Output is one hand-off receiver (package output/handoff, config outputs:).
type Output struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`             // webhook or mqtt; empty for a queue left by a removed output
	Target string `json:"target,omitempty"` // without credentials or query
	// Configured is false for a queue kept from an output the config no
	// longer names (kioskd outputs drop discards it).
	Configured bool `json:"configured"`
	// Connected is set for outputs that keep a connection (mqtt).
	Connected *bool `json:"connected,omitempty"`
	// Queued wait for the receiver; Dropped were pushed out of a full queue, ever.
	Queued  int    `json:"queued"`
	Dropped uint64 `json:"dropped"`
	// Delivered and Refused (for good, by the receiver) since start.
	Delivered uint64 `json:"delivered"`
	Refused   uint64 `json:"refused"`
	// Failures in a row and the last one's error; zero while delivering.
	Failures      int       `json:"failures"`
	LastError     string    `json:"last_error,omitempty"`
	NextAttempt   time.Time `json:"next_attempt,omitzero"`
	LastDelivered time.Time `json:"last_delivered,omitzero"`
	LastLatency   Duration  `json:"last_latency"`
	// Slow: the last delivery took longer than the output's slow bound.
	Slow bool `json:"slow,omitempty"`
}

// outputLines writes one `kioskd status` line per output.
func outputLines(line func(k, format string, args ...any), outs []Output, loc *time.Location) {
	for _, o := range outs {
		var b strings.Builder
		b.WriteString(o.Name)
		switch {
		case !o.Configured:
			b.WriteString(" (no longer configured)")
		default:
			b.WriteString(" " + strings.TrimSpace(o.Kind+" "+o.Target))
		}
		if o.Connected != nil && !*o.Connected {
			b.WriteString(" DISCONNECTED")
		}
		fmt.Fprintf(&b, "; %d queued, %d delivered, %d refused, %d dropped", o.Queued, o.Delivered, o.Refused, o.Dropped)
		if o.LastError != "" {
			fmt.Fprintf(&b, "; FAILING (%d in a row): %s", o.Failures, o.LastError)
			if !o.NextAttempt.IsZero() {
				b.WriteString("; next attempt " + stamp(o.NextAttempt, loc))
			}
		}
		if !o.LastDelivered.IsZero() {
			fmt.Fprintf(&b, "; last delivered %s in %s", stamp(o.LastDelivered, loc), o.LastLatency)
			if o.Slow {
				b.WriteString(" (SLOW)")
			}
		}
		line("output", "%s", b.String())
	}
}
