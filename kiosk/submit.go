package kiosk

import (
	"context"
	"time"

	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// SubmitOpts modify one SubmitWith.
type SubmitOpts struct {
	// DryRun decides without recording anything (not even junk); the
	// observer does not hear it: it is no verdict of the kiosk's.
	DryRun bool
	// Quiet leaves the outputs alone (a desk check that does not open
	// the door).
	Quiet bool
	// Input names where the text was presented (Verdict.Input).
	Input string
}

// SubmitWith is Submit with options: the payload rule, verify (and record,
// unless DryRun), the signal (unless Quiet), the observer and the log line.
func (p *Pipeline) SubmitWith(ctx context.Context, text string, o SubmitOpts) verify.Verdict {
	code, perr := scanner.ParsePayload(text)
	var v verify.Verdict
	switch {
	case perr != nil && o.DryRun:
		v = verify.Verdict{Reason: verify.NotACode, At: time.Now(), Input: o.Input}
	case perr != nil:
		v = p.verdict(ctx, code, perr, o.Input)
	default:
		v = p.Verifier.Check(ctx, code, verify.CheckOpts{Direction: p.Direction, DryRun: o.DryRun, Input: o.Input})
	}
	v.Input = o.Input // named even by a Verifier that does not (a stand-in)
	if !o.Quiet {
		p.signal(v)
	}
	if p.Observer != nil && !o.DryRun {
		p.Observer.Verdict(v)
	}
	logVerdict(p.logger(), v)
	return v
}
