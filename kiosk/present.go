package kiosk

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// decide is the lane's decision on a presented text once it counts (the
// payload rule's outcome is given): a kiosk code is verified, anything else
// is recorded as not a code. Verify records the verdict (unless o.DryRun).
func decide(ctx context.Context, ver Verifier, code string, perr error, o verify.CheckOpts, log *slog.Logger) verify.Verdict {
	if perr != nil {
		if !errors.Is(perr, scanner.ErrNotACode) {
			log.Warn("payload", "err", perr)
		}
		if o.DryRun { // a look-up records nothing, not even junk
			return verify.Verdict{Reason: verify.NotACode, At: time.Now()}
		}
		return ver.NotACode(ctx)
	}
	return ver.Check(ctx, code, o)
}

// Presentation is a text presented other than through the camera (the
// staff desk's field): where its verdict goes.
type Presentation struct {
	Verifier Verifier
	// Signal shows the verdict on the outputs (an accept pulses the
	// relay); nil leaves them alone.
	Signal gpio.Signal
	// Observer hears the verdict as the lane's does; nil: nobody.
	Observer Observer
	Logger   *slog.Logger
	// Input names the presentations in their verdicts (Verdict.Input).
	Input string
}

// Present takes a text through the very steps the lane takes after the
// decoder: the payload rule (the URL form included), verify and record,
// the outputs, the observer and the log line. There is no same-code
// suppression: a person submitting a text means it once.
func (p Presentation) Present(ctx context.Context, text string, o verify.CheckOpts) verify.Verdict {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	code, perr := scanner.ParsePayload(text)
	v := decide(ctx, p.Verifier, code, perr, o, log)
	v.Input = p.Input
	show(p.Signal, v)
	if p.Observer != nil {
		p.Observer.Verdict(v)
	}
	logVerdict(log, v)
	return v
}

// show drives the outputs for a verdict (nil: none).
func show(sig gpio.Signal, v verify.Verdict) {
	if sig == nil {
		return
	}
	if v.Accept {
		sig.Show(gpio.Accept)
	} else {
		sig.Show(gpio.Reject)
	}
}
