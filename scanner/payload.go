package scanner

import (
	"errors"
	"strings"
)

// ErrNotACode is the verdict for a QR code that does not carry a kiosk code:
// a URL without ?code=, a vCard, text, or a code of the wrong length.
var ErrNotACode = errors.New("scanner: not a kiosk code")

// CodeLen is the length of a kiosk code: 64 hex characters (32 bytes).
const CodeLen = 64

// ParsePayload extracts the kiosk code from a decoded QR text and returns it
// in lower case. It accepts exactly 64 hex characters (any case, surrounding
// white space ignored) or a URL whose query carries the same as code=<64 hex>.
// Everything else is ErrNotACode. The decision is made on the input as it
// is; the only allocation is the returned string of an accepted code.
func ParsePayload(text string) (string, error) {
	s := strings.TrimSpace(text)
	if len(s) == CodeLen {
		return lowerHex(s)
	}
	// A URL: take the value of the first code= parameter in the query.
	q := strings.IndexByte(s, '?')
	if q < 0 || len(s) < CodeLen+len("?code=") {
		return "", ErrNotACode
	}
	query := s[q+1:]
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query = query[:i]
	}
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k != "code" {
			continue
		}
		if len(v) != CodeLen {
			return "", ErrNotACode
		}
		return lowerHex(v)
	}
	return "", ErrNotACode
}

// lowerHex checks that s is CodeLen hex characters and returns it in lower
// case, allocating only when s is accepted.
func lowerHex(s string) (string, error) {
	if len(s) != CodeLen {
		return "", ErrNotACode
	}
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			upper = true
		default:
			return "", ErrNotACode
		}
	}
	if !upper {
		return s, nil
	}
	var b [CodeLen]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return string(b[:]), nil
}
