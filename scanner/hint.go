package scanner

// Hint is what the last frame showed when no code was read: for the
// scan-mode screen, which tells a visitor what to change. It is worked out
// from what the decoder measured anyway (the sampled block statistics and
// the finder scan), so it costs nothing and allocates nothing.
type Hint uint8

const (
	// HintNone: a code was read, or nothing in view looked like one.
	HintNone Hint = iota
	// HintTooDark: the scene is too dark to read (under-exposed, or the
	// code is in shadow).
	HintTooDark
	// HintTooFar: something like a code's corners, but too small to read.
	HintTooFar
	// HintBlurred: something like a code, large enough, but not readable:
	// out of focus, moving, glare over part of it, or not a QR code.
	HintBlurred
	numHints
)

var hintWords = [numHints]string{"", "more light needed", "bring the code closer", "hold the code still"}

// String is the hint in a few plain words ("" for HintNone).
func (h Hint) String() string {
	if h < numHints {
		return hintWords[h]
	}
	return ""
}

// darkLum is the mean level of a frame below which it counts as too dark:
// a code's light modules then sit near the noise.
const darkLum = 55

// tooFarSize is the finder pattern width (7 modules) below which a code is
// too small to read reliably: under 2.5 pixels a module.
const tooFarSize = 17

// Hint reports what the last frame showed when no code was read, HintNone
// after a read.
func (d *Decoder) Hint() Hint { return d.lastHint }

// hintFor works out the hint of a frame without a code.
func (d *Decoder) hintFor() Hint {
	switch {
	case d.full.w > 0 && d.full.lum < darkLum:
		return HintTooDark
	case d.seen > 0 && d.seen < tooFarSize:
		return HintTooFar
	case d.seen > 0:
		return HintBlurred
	}
	return HintNone
}
