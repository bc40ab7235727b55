package kiosk

import (
	"time"

	"github.com/kioskd/kioskd/scanner"
)

// HintDecoder is a Decoder that tells what the last frame without a code
// showed (*scanner.Decoder is one).
type HintDecoder interface {
	Hint() scanner.Hint
}

// Hint debouncing: a raw hint becomes the shown one once it has held on
// hintFrames frames in a row or for hintHold, so a hint never flickers frame
// to frame; HintNone (nothing code-like in view) clears a shown hint the
// same way, a read clears it at once.
const (
	hintFrames = 3
	hintHold   = 300 * time.Millisecond
)

// hintFilter debounces a decoder's per-frame hints. It allocates nothing;
// its zero value shows HintNone.
type hintFilter struct {
	shown     scanner.Hint
	candidate scanner.Hint
	frames    int
	since     time.Time
}

// frame takes one decoded frame's outcome (read: a code was read; raw: the
// decoder's hint otherwise) at time at, and returns the hint to show and
// whether it changed.
func (h *hintFilter) frame(read bool, raw scanner.Hint, at time.Time) (scanner.Hint, bool) {
	if read {
		raw = scanner.HintNone
		h.candidate, h.frames = raw, hintFrames // a read is not debounced
	} else if raw != h.candidate || h.frames == 0 {
		h.candidate, h.frames, h.since = raw, 1, at
	} else {
		h.frames++
	}
	if h.candidate == h.shown || (h.frames < hintFrames && at.Sub(h.since) < hintHold) {
		return h.shown, false
	}
	h.shown = h.candidate
	return h.shown, true
}
