package kiosk

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// Decider is the one step every lane takes once a code's text is read, the
// camera's (after decoding a frame) and a scanner's (a whole read) alike:
// the payload rule (64 hex characters, or the same in a URL's ?code=),
// same-code suppression (a code held in view, or re-sent by a scanner while
// its trigger is held, is one presentation until it has been away for
// Rearm), verify, signal, observe and log. One Decider per lane: it keeps
// the lane's presence and is not safe for concurrent use; the Verifier,
// Signal and Observer are shared between lanes.
type Decider struct {
	Verifier Verifier
	Signal   gpio.Signal // optional
	// Rearm is how long a code must be away before it counts again.
	Rearm    time.Duration
	Observer Observer // optional; a LatencyObserver also hears latencies
	Logger   *slog.Logger
	// Direction is "entry", "exit" or "".
	Direction string
	// Input names the lane in verdicts, events and logs.
	Input string

	presence *scanner.Presence
}

// Tick tells the Decider that the lane looked and read nothing at now (a
// frame without a code), so codes away for Rearm count again.
func (d *Decider) Tick(now time.Time) {
	d.init()
	d.presence.Tick(now)
}

// Text decides on one read taken at now (the lane's clock, for presence);
// captured, if not zero, is when the read began its way to the door (the
// frame's capture, the scanner's terminator), for the verdict latency. It
// reports false, with no verdict, for a repeat of a presentation already
// decided.
func (d *Decider) Text(ctx context.Context, text string, now, captured time.Time) (verify.Verdict, bool) {
	d.init()
	code, perr := scanner.ParsePayload(text)
	// Junk is tracked by a digest of its text, so a poster held in view (or
	// a scanner re-sending a wrong barcode) is one "not a code" verdict.
	key := code
	if perr != nil {
		sum := sha256.Sum256([]byte(text))
		key = string(sum[:])
	}
	if !d.presence.Observe(key, now) {
		return verify.Verdict{}, false
	}
	opts := verify.CheckOpts{Direction: d.Direction, Input: d.Input}
	var v verify.Verdict
	if perr != nil {
		if !errors.Is(perr, scanner.ErrNotACode) {
			d.log().Warn("payload", "err", perr, "input", d.Input)
		}
		v = d.Verifier.NotACode(ctx, opts)
	} else {
		v = d.Verifier.Check(ctx, code, opts)
	}
	d.signal(v)
	if lat, ok := d.Observer.(LatencyObserver); ok && !captured.IsZero() {
		lat.VerdictLatency(time.Since(captured))
	}
	if d.Observer != nil {
		d.Observer.Verdict(v)
	}
	logVerdict(d.log(), v)
	return v, true
}

func (d *Decider) init() {
	if d.presence == nil {
		d.presence = scanner.NewPresence(d.Rearm)
	}
}

func (d *Decider) log() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func (d *Decider) signal(v verify.Verdict) {
	if d.Signal == nil {
		return
	}
	if v.Accept {
		d.Signal.Show(gpio.Accept)
	} else {
		d.Signal.Show(gpio.Reject)
	}
}
