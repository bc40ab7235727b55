package serial

import (
	"fmt"
	"time"

	"github.com/kioskd/kioskd/input"
)

// Terminator is what a scanner sends after each code.
type Terminator uint8

const (
	CR   Terminator = iota // "\r": most scanner modules' factory setting
	LF                     // "\n"
	CRLF                   // "\r\n"
)

func (t Terminator) String() string {
	switch t {
	case LF:
		return "lf"
	case CRLF:
		return "crlf"
	}
	return "cr"
}

// ParseTerminator reads "cr", "lf" or "crlf".
func ParseTerminator(s string) (Terminator, error) {
	switch s {
	case "cr":
		return CR, nil
	case "lf":
		return LF, nil
	case "crlf":
		return CRLF, nil
	}
	return 0, fmt.Errorf("serial: terminator %q: want cr, lf or crlf", s)
}

// Lines splits a scanner's byte stream into reads. A read ends at the
// terminator; CR and LF never belong to a code, so with a CR or LF
// terminator the other one is dropped (a scanner left on CRLF works either
// way), and with CRLF a lone CR or LF is dropped too. A read longer than
// input.MaxText is dropped whole, and so is a read whose next byte comes
// more than Timeout after the previous one (line noise when a module powers
// up, half a line across an unplug). Control characters are dropped: some
// modules frame a read with STX/ETX or a prefix the installer cannot turn
// off. The zero Lines ends reads at CR and never times out. Not safe for
// concurrent use.
type Lines struct {
	Terminator Terminator
	Timeout    time.Duration

	buf      []byte
	last     time.Time
	cr       bool // the previous byte was CR (CRLF)
	overflow bool
	dropped  int
}

// Feed takes bytes read at at and calls emit with each complete read.
func (l *Lines) Feed(b []byte, at time.Time, emit func(string)) {
	if len(b) == 0 {
		return
	}
	l.Expire(at)
	l.last = at
	for _, c := range b {
		end := false
		switch {
		case c == '\r' && l.Terminator == CR, c == '\n' && l.Terminator == LF:
			end = true
		case c == '\n' && l.Terminator == CRLF:
			end = l.cr
		}
		l.cr = c == '\r'
		if end {
			if l.overflow {
				l.dropped++
			} else if len(l.buf) > 0 {
				emit(string(l.buf))
			}
			l.reset()
			continue
		}
		if c < ' ' || c == 0x7f {
			continue
		}
		if len(l.buf) >= input.MaxText {
			l.overflow = true
			continue
		}
		l.buf = append(l.buf, c)
	}
}

// Expire drops a read left half-done for longer than Timeout at now.
func (l *Lines) Expire(now time.Time) {
	if l.Timeout > 0 && l.Pending() && now.Sub(l.last) > l.Timeout {
		l.reset()
		l.dropped++
	}
}

// Reset drops any read in progress (the device was lost).
func (l *Lines) Reset() {
	if l.Pending() {
		l.dropped++
	}
	l.reset()
}

// Pending reports whether a read is half-done.
func (l *Lines) Pending() bool { return len(l.buf) > 0 || l.overflow }

// Dropped counts the reads dropped so far.
func (l *Lines) Dropped() int { return l.dropped }

func (l *Lines) reset() {
	clear(l.buf) // the bytes may be most of a code
	l.buf = l.buf[:0]
	l.overflow, l.cr = false, false
}
