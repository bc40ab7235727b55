// Package kiosk is the scan pipeline: frames → decode → verify → signal and
// record. It owns nothing of the hardware or the store: each stage is a small
// interface, so the daemon, the demo and the tests run the same loop over
// real parts or over stand-ins.
package kiosk

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/input"
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

// LatencyObserver is an Observer that also hears each verdict's latency,
// named by the lane's input (Pipeline.Input): from the frame's capture
// (scanner.Frame.Time) or the end of a scanner's read (input.Read.At) to the
// outputs being driven. The two are different waits, so they are kept apart.
type LatencyObserver interface {
	VerdictLatency(input string, d time.Duration)
}

// TextSource is an input that yields decoded text (a barcode scanner);
// input.Text is one.
type TextSource interface {
	Read(ctx context.Context, fn func(input.Read)) error
}

// Pipeline is one scan lane: a source, a decoder and the verdict's outputs.
type Pipeline struct {
	// Source yields frames for Decoder; Text (set instead of Source and
	// Decoder) yields text already decoded. Both go the same way from there:
	// the payload rule, presence, verify, the signal, the observer.
	Source   scanner.Source
	Decoder  Decoder
	Text     TextSource
	Verifier Verifier
	Signal   gpio.Signal
	// Rearm is how long a code must be out of view before it counts again.
	Rearm    time.Duration
	Observer Observer // optional
	Logger   *slog.Logger
	// Direction is "entry", "exit" or "" for a kiosk that does not tell.
	Direction string
	// Input names the lane's input (camera, a scanner) in its verdicts,
	// their events and the log (issue 20).
	Input string
	// Now is the clock (time.Now when nil), injectable for tests.
	Now func() time.Time
	// Hints, when set and Decoder is a HintDecoder, hears the debounced
	// hint of frames without a code (too far, too dark: for the scan-mode
	// screen) on each change only, from the lane: it must return at once.
	// It hears HintNone when a code is read, when nothing code-like has
	// been in view for a moment, and when Run returns.
	Hints func(scanner.Hint)
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func (p *Pipeline) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// Run feeds every frame (or read) of the source through the pipeline until
// the source ends or ctx is done. Decisions are taken on the frame callback
// itself: while a redemption is being made durable the camera's newer frames
// are dropped, never queued, so the kiosk always answers about what is in
// view now.
func (p *Pipeline) Run(ctx context.Context) error {
	presence := scanner.NewPresence(p.Rearm)
	var err error
	if p.Text != nil {
		err = p.Text.Read(ctx, func(r input.Read) {
			if ctx.Err() != nil {
				return
			}
			at := r.At
			if at.IsZero() {
				at = p.now()
			}
			// Between two reads the code was out of the scanner's view:
			// the same code read again within Rearm of its last read is
			// the same presentation (a double read), later a new one.
			presence.Tick(at)
			p.decide(ctx, presence, r.Text, at, r.At)
		})
	} else {
		var hints *hintLane
		if hd, ok := p.Decoder.(HintDecoder); ok && p.Hints != nil {
			hints = &hintLane{dec: hd, fn: p.Hints}
			defer hints.stop()
		}
		err = p.Source.Run(ctx, func(f scanner.Frame) { p.frame(ctx, presence, hints, f) })
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// hintLane is a frame lane's hint feed.
type hintLane struct {
	dec    HintDecoder
	fn     func(scanner.Hint)
	filter hintFilter
}

func (h *hintLane) frame(read bool, at time.Time) {
	if show, changed := h.filter.frame(read, h.dec.Hint(), at); changed {
		h.fn(show)
	}
}

// stop clears a shown hint: the lane no longer watches.
func (h *hintLane) stop() {
	if h.filter.shown != scanner.HintNone {
		h.filter = hintFilter{}
		h.fn(scanner.HintNone)
	}
}

func (p *Pipeline) frame(ctx context.Context, presence *scanner.Presence, hints *hintLane, f scanner.Frame) {
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
	at := p.now()
	if hints != nil {
		hints.frame(ok, at)
	}
	if !ok {
		presence.Tick(at)
		return
	}
	p.decide(ctx, presence, text, at, f.Time)
}

// decide takes one decoded text to a verdict shown on the outputs, unless
// presence says the same code is still in view. captured is when the text
// was captured, for the verdict latency (zero: not measured).
func (p *Pipeline) decide(ctx context.Context, presence *scanner.Presence, text string, at, captured time.Time) {
	code, perr := scanner.ParsePayload(text)
	// Junk QRs are tracked by a digest of their text, so a poster held in
	// view is one "not a code" verdict, not one per frame.
	key := code
	if perr != nil {
		sum := sha256.Sum256([]byte(text))
		key = string(sum[:])
	}
	if presence != nil && !presence.Observe(key, at) {
		return
	}
	v := p.verdict(ctx, code, perr, p.Input)
	p.signal(v)
	// From capture, not from when decoding began: the time the frame
	// waited and the decode are part of what the visitor waits for.
	if lat, ok := p.Observer.(LatencyObserver); ok && !captured.IsZero() {
		lat.VerdictLatency(p.Input, time.Since(captured))
	}
	if p.Observer != nil {
		p.Observer.Verdict(v)
	}
	logVerdict(p.logger(), v)
}

func (p *Pipeline) verdict(ctx context.Context, code string, perr error, input string) verify.Verdict {
	opts := verify.CheckOpts{Direction: p.Direction, Input: input}
	if perr != nil {
		if !errors.Is(perr, scanner.ErrNotACode) {
			p.logger().Warn("payload", "err", perr)
		}
		return p.Verifier.NotACode(ctx, opts)
	}
	return p.Verifier.Check(ctx, code, opts)
}

// Submit decides on one text given outside the lane's source (a staff
// desk's typed code): the payload rule, verify, the signal and the observer,
// without presence suppression. The text is never logged.
func (p *Pipeline) Submit(ctx context.Context, text string) verify.Verdict {
	code, perr := scanner.ParsePayload(text)
	v := p.verdict(ctx, code, perr, "") // not read at the lane's input
	p.signal(v)
	if p.Observer != nil {
		p.Observer.Verdict(v)
	}
	logVerdict(p.logger(), v)
	return v
}

func (p *Pipeline) signal(v verify.Verdict) {
	if p.Signal == nil {
		return
	}
	if v.Accept {
		p.Signal.Show(gpio.Accept)
	} else {
		p.Signal.Show(gpio.Reject)
	}
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
