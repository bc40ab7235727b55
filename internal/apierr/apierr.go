// Package apierr is the one shape of an error answer from the HTTP APIs
// kioskd calls (BitBadges, Authsignal): the status, the API's code and
// message cleaned of secrets, the sentinel the status means for that API
// (so errors.Is(err, bitbadges.ErrUnauthorized) works), what to fix, and
// whether retrying can help.
package apierr

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// Error is a non-2xx answer. Code and Message come from the server and are
// cleaned (Clean) before they get here: they never carry a secret.
type Error struct {
	// API and Op say whose answer and to what ("bitbadges", "pre-fetch");
	// either may be empty when the caller's wrapping says it.
	API, Op string
	Status  int    // HTTP status
	Code    string // the API's error code, if it sends one
	Message string // the server's message
	// Kind is the sentinel this status means for the API (its
	// ErrUnauthorized on a 401), seen by errors.Is; nil for none.
	Kind error
	// Hint says what to fix, whatever the server's wording.
	Hint string
}

// Error reads "bitbadges pre-fetch: HTTP 401 Unauthorized code: message (hint)".
func (e *Error) Error() string {
	var b strings.Builder
	if who := strings.TrimSpace(e.API + " " + e.Op); who != "" {
		b.WriteString(who + ": ")
	}
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// Unwrap lets errors.Is see Kind.
func (e *Error) Unwrap() error { return e.Kind }

// Temporary reports whether the same request may succeed later: server
// errors, a request timeout and rate limits, not authorisation, credits or
// a request the server refuses.
func (e *Error) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests
}

// Redact replaces every secret (of 4 characters or more: a shorter one
// would blank ordinary words) with [redacted].
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// Clean keeps server text safe for a log line: the secrets redacted,
// control characters made spaces, cut to limit bytes on a rune boundary.
func Clean(s string, limit int, secrets ...string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, Redact(s, secrets...))
	s = strings.TrimSpace(s)
	if len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = strings.TrimSpace(s[:cut]) + "…"
	}
	return s
}
