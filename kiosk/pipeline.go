// Package kiosk is the scan pipeline: frames → decode → verify → signal and
// record. It owns nothing of the hardware or the store: each stage is a small
// interface, so the daemon, the demo and the tests run the same loop over
// real parts or over stand-ins.
//
// Every lane ends in the same step, a Decider: the camera's Pipeline after
// decoding a frame, a scanner's RunText (package input) after a whole read.
// The payload rule, same-code suppression, verify, signal and record are
// therefore one function whatever read the code.
package kiosk

import (
	"context"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// Decoder finds a QR code's text in a frame.
type Decoder interface {
	Decode(f scanner.Frame) (text string, ok bool)
}

// Verifier decides on a code and records the decision.
type Verifier interface {
	Check(ctx context.Context, code string, o verify.CheckOpts) verify.Verdict
	// NotACode records a read that is not a kiosk code; o names the input.
	NotACode(ctx context.Context, o ...verify.CheckOpts) verify.Verdict
	Health(now time.Time) verify.Health
}

// Observer hears about what the pipeline does, for logs, metrics, the status
// page and the demo. Every method must return quickly.
type Observer interface {
	Frame(f scanner.Frame, decode time.Duration, found bool)
	Verdict(v verify.Verdict)
}

// LatencyObserver is an Observer that also hears each verdict's latency:
// from the frame's capture (scanner.Frame.Time) to the outputs being driven.
type LatencyObserver interface {
	VerdictLatency(d time.Duration)
}

// Pipeline is one scan lane: a source, a decoder and the verdict's outputs.
type Pipeline struct {
	Source   scanner.Source
	Decoder  Decoder
	Verifier Verifier
	Signal   gpio.Signal
	// Rearm is how long a code must be out of view before it counts again.
	Rearm    time.Duration
	Observer Observer // optional
	Logger   *slog.Logger
	// Direction is "entry", "exit" or "" for a kiosk that does not tell.
	Direction string
	// Input names this lane in verdicts, events and logs ("" for none).
	Input string
	// Now is the clock (time.Now when nil), injectable for tests.
	Now func() time.Time
}

// Run feeds every frame of the source through the pipeline until the source
// ends or ctx is done. Decisions are taken on the frame callback itself: while
// a redemption is being made durable the camera's newer frames are dropped,
// never queued, so the kiosk always answers about what is in view now.
func (p *Pipeline) Run(ctx context.Context) error {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	dec := &Decider{Verifier: p.Verifier, Signal: p.Signal, Rearm: p.Rearm, Observer: p.Observer, Logger: log,
		Direction: p.Direction, Input: p.Input}
	err := p.Source.Run(ctx, func(f scanner.Frame) {
		t0 := time.Now()
		text, ok := p.Decoder.Decode(f)
		took := time.Since(t0)
		if p.Observer != nil {
			p.Observer.Frame(f, took, ok)
		}
		// A frame whose decode finished after shutdown began is not
		// decided: the outputs are already being released, and a redemption
		// now would use up a code for a door that will not open.
		if ctx.Err() != nil {
			return
		}
		at := now()
		if !ok {
			dec.Tick(at)
			return
		}
		// From capture, not from when decoding began: the time the frame
		// waited and the decode are part of what the visitor waits for.
		dec.Text(ctx, text, at, f.Time)
	})
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// logVerdict logs a verdict with the code's hash prefix only: the code is a
// bearer secret and never reaches a log line.
func logVerdict(log *slog.Logger, v verify.Verdict) {
	attrs := []any{"accept", v.Accept, "reason", v.Reason.String()}
	if v.Input != "" {
		attrs = append(attrs, "input", v.Input)
	}
	if len(v.Hash) >= 8 {
		attrs = append(attrs, "hash", v.Hash[:8])
	}
	if v.Name != "" {
		attrs = append(attrs, "name", v.Name)
	}
	if v.Online {
		attrs = append(attrs, "online", true)
	}
	if v.Requirement != "" {
		attrs = append(attrs, "requirement", v.Requirement)
	}
	if v.Warning != "" {
		attrs = append(attrs, "warning", v.Warning)
	}
	log.Info("verdict", attrs...)
}
