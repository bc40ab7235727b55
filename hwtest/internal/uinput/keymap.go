package uinput

import "fmt"

// Key codes from linux/input-event-codes.h that a US keyboard needs for
// printable ASCII.
const (
	keyEnter     = 28
	keyTab       = 15
	keyLeftShift = 42
	keySpace     = 57
)

// usLayout is the US layout: for each key, the character it types alone
// and with shift. Written out by the kernel's key numbers rather than
// derived, so a typo shows up in the test's hand-checked sequences.
var usLayout = []struct {
	code           uint16
	plain, shifted rune
}{
	{2, '1', '!'}, {3, '2', '@'}, {4, '3', '#'}, {5, '4', '$'}, {6, '5', '%'},
	{7, '6', '^'}, {8, '7', '&'}, {9, '8', '*'}, {10, '9', '('}, {11, '0', ')'},
	{12, '-', '_'}, {13, '=', '+'},
	{16, 'q', 'Q'}, {17, 'w', 'W'}, {18, 'e', 'E'}, {19, 'r', 'R'}, {20, 't', 'T'},
	{21, 'y', 'Y'}, {22, 'u', 'U'}, {23, 'i', 'I'}, {24, 'o', 'O'}, {25, 'p', 'P'},
	{26, '[', '{'}, {27, ']', '}'},
	{30, 'a', 'A'}, {31, 's', 'S'}, {32, 'd', 'D'}, {33, 'f', 'F'}, {34, 'g', 'G'},
	{35, 'h', 'H'}, {36, 'j', 'J'}, {37, 'k', 'K'}, {38, 'l', 'L'},
	{39, ';', ':'}, {40, '\'', '"'}, {41, '`', '~'}, {43, '\\', '|'},
	{44, 'z', 'Z'}, {45, 'x', 'X'}, {46, 'c', 'C'}, {47, 'v', 'V'}, {48, 'b', 'B'},
	{49, 'n', 'N'}, {50, 'm', 'M'}, {51, ',', '<'}, {52, '.', '>'}, {53, '/', '?'},
	{keySpace, ' ', ' '},
}

// Stroke is one key pressed and released, with shift held around it if
// Shift.
type Stroke struct {
	Code  uint16
	Shift bool
}

// Strokes is how a US keyboard types text. A character it has no key for
// is an error naming its position (never the text: it may be a code).
func Strokes(text string) ([]Stroke, error) {
	var out []Stroke
	for i, r := range []rune(text) {
		s, ok := strokeFor(r)
		if !ok {
			return nil, fmt.Errorf("character %d (%U) has no key on a US keyboard", i+1, r)
		}
		out = append(out, s)
	}
	return out, nil
}

func strokeFor(r rune) (Stroke, bool) {
	for _, k := range usLayout {
		switch r {
		case k.plain:
			return Stroke{Code: k.code}, true
		case k.shifted:
			return Stroke{Code: k.code, Shift: true}, true
		}
	}
	return Stroke{}, false
}

// Rune is what a US keyboard types for code with or without shift; ok is
// false for keys that type nothing printable (Enter, Tab, shift itself).
func Rune(code uint16, shift bool) (r rune, ok bool) {
	for _, k := range usLayout {
		if k.code == code {
			if shift {
				return k.shifted, true
			}
			return k.plain, true
		}
	}
	return 0, false
}

// events are the input events of one stroke, each change followed by a
// SYN_REPORT as a real keyboard's report is.
func (s Stroke) events() []Event {
	var evs []Event
	add := func(code uint16, v int32) {
		evs = append(evs, Event{Type: evKey, Code: code, Value: v}, Event{Type: evSyn, Code: synRepor})
	}
	if s.Shift {
		add(keyLeftShift, 1)
	}
	add(s.Code, 1)
	add(s.Code, 0)
	if s.Shift {
		add(keyLeftShift, 0)
	}
	return evs
}

// keyCodes are the keys the virtual keyboard declares.
func keyCodes() []uint16 {
	codes := []uint16{keyEnter, keyTab, keyLeftShift}
	for _, k := range usLayout {
		codes = append(codes, k.code)
	}
	return codes
}
