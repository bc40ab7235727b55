package hid

import (
	"fmt"
	"time"

	"github.com/kioskd/kioskd/input"
)

// Linux input event types and the key codes the decoder needs
// (include/uapi/linux/input-event-codes.h).
const (
	EvSyn = 0x00
	EvKey = 0x01

	// SynDropped (an EvSyn code) says the kernel's event buffer overflowed
	// and events were lost.
	SynDropped = 3

	KeyTab        = 15
	KeyEnter      = 28
	KeyLeftShift  = 42
	KeyRightShift = 54
	KeyKPEnter    = 96
)

// Key event values.
const (
	Release = 0
	Press   = 1
	Repeat  = 2
)

// usKeys maps a key code to what it types on a US layout, without and with
// shift. Key codes past the table or with a zero entry type nothing.
var usKeys = [...][2]byte{
	2: {'1', '!'}, 3: {'2', '@'}, 4: {'3', '#'}, 5: {'4', '$'}, 6: {'5', '%'},
	7: {'6', '^'}, 8: {'7', '&'}, 9: {'8', '*'}, 10: {'9', '('}, 11: {'0', ')'},
	12: {'-', '_'}, 13: {'=', '+'},
	16: {'q', 'Q'}, 17: {'w', 'W'}, 18: {'e', 'E'}, 19: {'r', 'R'}, 20: {'t', 'T'},
	21: {'y', 'Y'}, 22: {'u', 'U'}, 23: {'i', 'I'}, 24: {'o', 'O'}, 25: {'p', 'P'},
	26: {'[', '{'}, 27: {']', '}'},
	30: {'a', 'A'}, 31: {'s', 'S'}, 32: {'d', 'D'}, 33: {'f', 'F'}, 34: {'g', 'G'},
	35: {'h', 'H'}, 36: {'j', 'J'}, 37: {'k', 'K'}, 38: {'l', 'L'},
	39: {';', ':'}, 40: {'\'', '"'}, 41: {'`', '~'}, 43: {'\\', '|'},
	44: {'z', 'Z'}, 45: {'x', 'X'}, 46: {'c', 'C'}, 47: {'v', 'V'}, 48: {'b', 'B'},
	49: {'n', 'N'}, 50: {'m', 'M'}, 51: {',', '<'}, 52: {'.', '>'}, 53: {'/', '?'},
	55: {'*', '*'}, 57: {' ', ' '},
	// The keypad, which some scanners use for digits ("numeric keypad
	// mode"): num lock's state is unknown to a reader that grabbed the
	// device, so keypad keys always type their digit.
	71: {'7', '7'}, 72: {'8', '8'}, 73: {'9', '9'}, 74: {'-', '-'},
	75: {'4', '4'}, 76: {'5', '5'}, 77: {'6', '6'}, 78: {'+', '+'},
	79: {'1', '1'}, 80: {'2', '2'}, 81: {'3', '3'}, 82: {'0', '0'}, 83: {'.', '.'},
	98: {'/', '/'},
}

// Terminator is the key a scanner sends after each code.
type Terminator uint8

const (
	Enter Terminator = iota // Enter or keypad Enter: most scanners' default
	Tab
)

func (t Terminator) String() string {
	if t == Tab {
		return "tab"
	}
	return "enter"
}

// ParseTerminator reads "enter" or "tab".
func ParseTerminator(s string) (Terminator, error) {
	switch s {
	case "enter":
		return Enter, nil
	case "tab":
		return Tab, nil
	}
	return 0, fmt.Errorf("hid: terminator %q: want enter or tab", s)
}

func (t Terminator) is(code uint16) bool {
	if t == Tab {
		return code == KeyTab
	}
	return code == KeyEnter || code == KeyKPEnter
}

// Decoder turns a keyboard's key events into complete reads: a US layout
// with shift, a read ending at the terminator, and a half-typed read dropped
// when the next key event comes more than Timeout after the previous one (a
// scanner types a code in one burst; a gap means the rest was lost, and the
// prefix must not be glued to the next code). The zero Decoder ends reads
// at Enter and never times out. It is not safe for concurrent use.
type Decoder struct {
	Terminator Terminator
	// Timeout is the longest gap between two keys of one read; 0: none.
	Timeout time.Duration

	buf      []byte
	last     time.Time
	lshift   bool
	rshift   bool
	overflow bool
	// discard: events were lost (Lost) in the read in progress; keys are
	// ignored until its terminator, or until a gap of Timeout starts a new
	// read.
	discard bool
	dropped int
}

// Lost tells the Decoder that the kernel dropped events (SYN_DROPPED: its
// buffer overflowed while the reader was not scheduled). What survives of a
// read is not the read, so it is dropped, and so is the rest of it up to
// its terminator. Shift is forgotten too: its release may have been lost.
func (d *Decoder) Lost(at time.Time) {
	if d.Pending() {
		d.dropped++
	}
	d.reset()
	d.lshift, d.rshift = false, false
	d.discard = true
	if at.After(d.last) {
		d.last = at
	}
}

// Key feeds one EV_KEY event (code, value: Press, Release or Repeat) that
// happened at at. It returns the read's text and true when the event is
// the terminator ending a read that is neither empty nor too long.
func (d *Decoder) Key(code uint16, value int32, at time.Time) (string, bool) {
	// A held key's auto-repeat is not the scanner's: scanners never hold
	// a key. Every other event, shift and releases included, is the
	// scanner typing, and counts for the key timeout.
	if value == Repeat {
		return "", false
	}
	if d.Timeout > 0 && (d.Pending() || d.discard) && at.Sub(d.last) > d.Timeout {
		if d.Pending() {
			d.dropped++
		}
		d.reset()
		d.discard = false
	}
	d.last = at
	switch code {
	case KeyLeftShift:
		d.lshift = value != Release
		return "", false
	case KeyRightShift:
		d.rshift = value != Release
		return "", false
	}
	// Characters are typed on the press.
	if value != Press {
		return "", false
	}
	if d.discard {
		if d.Terminator.is(code) {
			d.discard = false
		}
		return "", false
	}
	if d.Terminator.is(code) {
		text, ok := string(d.buf), len(d.buf) > 0 && !d.overflow
		if d.overflow {
			d.dropped++
		}
		d.reset()
		if !ok {
			return "", false
		}
		return text, true
	}
	if int(code) >= len(usKeys) {
		return "", false
	}
	shift := 0
	if d.lshift || d.rshift {
		shift = 1
	}
	c := usKeys[code][shift]
	if c == 0 {
		return "", false
	}
	if len(d.buf) >= input.MaxText {
		d.overflow = true
		return "", false
	}
	d.buf = append(d.buf, c)
	return "", false
}

// Dropped counts the reads dropped so far (half-typed past the timeout, or
// longer than input.MaxText), for the logs.
func (d *Decoder) Dropped() int { return d.dropped }

// Pending reports whether a read is half-typed.
func (d *Decoder) Pending() bool { return len(d.buf) > 0 || d.overflow }

// reset forgets the read in progress, wiping the bytes: they may be most of
// a code.
func (d *Decoder) reset() {
	clear(d.buf)
	d.buf = d.buf[:0]
	d.overflow = false
}

// KeyFor is the inverse of the layout: the key code and shift state that
// type c on a US layout, for tests and for typing through uinput. Digits
// come from the main row, not the keypad.
func KeyFor(c byte) (code uint16, shift, ok bool) {
	for k := range usKeys {
		if k >= 71 { // the keypad duplicates the main keys
			break
		}
		for s := range 2 {
			if usKeys[k][s] == c && c != 0 {
				return uint16(k), s == 1, true
			}
		}
	}
	return 0, false, false
}

// Type returns the key events a keyboard-wedge scanner sends for text and
// the terminator: shift pressed around the shifted characters, every key
// pressed and released, each event gap after the previous one from start,
// with an EV_SYN report after each. It fails for a character a US layout
// cannot type.
func Type(text string, term Terminator, start time.Time, gap time.Duration) ([]Event, error) {
	var evs []Event
	at := start
	emit := func(code uint16, value int32) {
		evs = append(evs, Event{Time: at, Type: EvKey, Code: code, Value: value},
			Event{Time: at, Type: EvSyn})
		at = at.Add(gap)
	}
	for i := 0; i < len(text); i++ {
		code, shift, ok := KeyFor(text[i])
		if !ok {
			return nil, fmt.Errorf("hid: character %q cannot be typed on a US layout", text[i])
		}
		if shift {
			emit(KeyLeftShift, Press)
		}
		emit(code, Press)
		emit(code, Release)
		if shift {
			emit(KeyLeftShift, Release)
		}
	}
	end := uint16(KeyEnter)
	if term == Tab {
		end = KeyTab
	}
	emit(end, Press)
	emit(end, Release)
	return evs, nil
}
