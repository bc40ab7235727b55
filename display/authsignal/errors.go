package authsignal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode"
)

var (
	// ErrUnauthorized: HTTP 401. The tenant id or secret key is wrong, or the
	// API URL is another region's.
	ErrUnauthorized = errors.New("unauthorized: check display.tenant_id (AUTHSIGNAL_TENANT_ID), the secret key (AUTHSIGNAL_SECRET_KEY) and the region in display.api_url (AUTHSIGNAL_API_URL)")
	// ErrChallengeGone: the challenge expired or is unknown to the server.
	ErrChallengeGone = errors.New("challenge expired or unknown")
	// ErrRefused: the approval was checked and does not let anyone in. The
	// error wraps a more precise reason as well (ErrNotSucceeded, ErrWrongAction,
	// ErrReplay, ErrNoIdempotencyKey or an *APIError for a rejected token).
	ErrRefused = errors.New("approval refused")

	ErrNotSucceeded     = errors.New("challenge state is not CHALLENGE_SUCCEEDED")
	ErrWrongAction      = errors.New("approval is for another action")
	ErrReplay           = errors.New("idempotency key already used")
	ErrNoIdempotencyKey = errors.New("approval has no idempotency key")

	// errMalformed marks a response we could not understand (bad JSON,
	// truncated, too large); it is transient: a proxy or the network broke it.
	errMalformed = errors.New("malformed response")
)

// APIError is an error answer from Authsignal. Description is scrubbed of the
// secret key and the token before it gets here.
type APIError struct {
	Status      int    // HTTP status
	Code        string // errorCode, else error
	Description string // errorDescription, shortened
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Status == 401 {
		// Say what to fix, whatever the server's wording.
		s += " (" + ErrUnauthorized.Error() + ")"
	}
	return s
}

// Unwrap lets errors.Is(err, ErrUnauthorized) work on a 401.
func (e *APIError) Unwrap() error {
	if e.Status == 401 {
		return ErrUnauthorized
	}
	return nil
}

// Temporary reports whether err is worth retrying unchanged later: network
// failures, timeouts, 5xx, 429 and malformed responses. A cancelled parent
// context is not temporary.
func Temporary(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrChallengeGone) || errors.Is(err, ErrRefused) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == 429
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errMalformed) {
		return true
	}
	// Transport errors that are not net.Error (e.g. unexpected EOF).
	return true
}

// errorBody is Authsignal's error shape; it may come as text/plain.
type errorBody struct {
	Error            string `json:"error"`
	ErrorCode        string `json:"errorCode"`
	ErrorDescription string `json:"errorDescription"`
}

// parseError turns an error response into an *APIError, whatever its content
// type. secrets are removed from anything the server echoes back.
func parseError(status int, body []byte, secrets ...string) *APIError {
	e := &APIError{Status: status}
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		e.Code = b.ErrorCode
		if e.Code == "" {
			e.Code = b.Error
		}
		e.Description = b.ErrorDescription
	} else {
		// Not JSON (a proxy's HTML page, plain text): keep a short excerpt.
		e.Description = string(body)
	}
	e.Code = clean(e.Code, 64, secrets)
	e.Description = clean(e.Description, 200, secrets)
	return e
}

// clean keeps server text safe for a log line: secrets removed, control
// characters dropped, length bounded.
func clean(s string, limit int, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > limit {
		// Cut on a rune boundary.
		cut := limit
		for cut > 0 && !utfStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utfStart(b byte) bool { return b&0xC0 != 0x80 }
