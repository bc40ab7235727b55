package bitbadges

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kioskd/kioskd/internal/apierr"
)

var (
	// ErrUnauthorized is a 401: a bad API key, an expired or revoked access
	// or refresh token, or a missing scope. Retrying the same request is useless.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrCredits is a 402: the BitBadges account is out of API credits.
	ErrCredits = errors.New("out of API credits")
	// ErrRateLimited is a 429; errors.As the error to *RateLimited for the wait.
	ErrRateLimited = errors.New("rate limited")
	// ErrMalformed is a response that is not what the API documents (not
	// JSON, truncated, missing its list or pagination, a bookmark that does
	// not advance).
	ErrMalformed = errors.New("malformed response")
	// ErrTooLarge is a response body past Client.MaxBodyBytes, or a
	// pre-fetch page of more records than Client.MaxPageRecords.
	ErrTooLarge = errors.New("response body too large")
	// ErrNotVerified is an exchange answered 200 without verificationResponse.success.
	ErrNotVerified = errors.New("code not verified")
)

// APIError is a non-2xx answer from BitBadges, in kioskd's one shape of an
// API error: API "bitbadges", Op what the client was doing ("pre-fetch",
// "token refresh", "exchange"), Status, and Message, the server's
// errorMessage (or error) redacted of anything that looks like a code or a
// credential and cut. errors.Is sees ErrUnauthorized, ErrCredits and
// ErrRateLimited through it.
type APIError = apierr.Error

// newAPIError is the APIError of an answer with status to op.
func newAPIError(op string, status int, msg string) *APIError {
	var kind error
	switch status {
	case http.StatusUnauthorized:
		kind = ErrUnauthorized
	case http.StatusPaymentRequired:
		kind = ErrCredits
	case http.StatusTooManyRequests:
		kind = ErrRateLimited
	}
	return &APIError{API: "bitbadges", Op: op, Status: status, Message: msg, Kind: kind}
}

// RateLimited is a 429 (or a 503 with Retry-After). RetryAfter is the
// server's requested wait, 0 when it sent none.
type RateLimited struct {
	RetryAfter time.Duration
	Err        *APIError
}

func (e *RateLimited) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %v)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}

func (e *RateLimited) Unwrap() error { return e.Err }

// RetryAfter returns the server's requested wait carried by err, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var rl *RateLimited
	if errors.As(err, &rl) && rl.RetryAfter > 0 {
		return rl.RetryAfter, true
	}
	return 0, false
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (relative to now). It returns 0 for an absent, invalid or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		// A day is already absurd for an API; clamp rather than overflow.
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

// errorBody is BitBadges' error shape.
type errorBody struct {
	ErrorMessage string `json:"errorMessage"`
	Error        any    `json:"error"`
	Unauthorized bool   `json:"unauthorized"`
}

// hexRun matches what could be a code, a docId or a token-like secret.
var hexRun = regexp.MustCompile(`[0-9a-fA-F]{32,}|[A-Za-z0-9_\-.]{40,}`)

// redact removes from a server message anything that may be a secret: the
// client's own credentials verbatim, and long hex or token-like runs. The
// message is then cut to a readable length.
func redact(msg string, secrets ...string) string {
	return apierr.Clean(hexRun.ReplaceAllString(apierr.Redact(msg, secrets...), "[redacted]"), 200)
}

// serverMessage extracts the message from an error body, if it is one.
func serverMessage(body []byte) string {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return ""
	}
	msg := eb.ErrorMessage
	switch v := eb.Error.(type) {
	case string:
		if v != "" && v != msg {
			if msg != "" {
				msg += " (" + v + ")"
			} else {
				msg = v
			}
		}
	}
	return msg
}
