package authsignal

import (
	"context"
	"encoding/json"
	"errors"
	"net"

	"github.com/kioskd/kioskd/internal/apierr"
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

// APIError is an error answer from Authsignal, in kioskd's one shape of an
// API error: Status, Code (errorCode, else error) and Message
// (errorDescription), both scrubbed of the secret key and the token and
// cut. A 401 is ErrUnauthorized to errors.Is and says what to fix.
type APIError = apierr.Error

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
		e.Message = b.ErrorDescription
	} else {
		// Not JSON (a proxy's HTML page, plain text): keep a short excerpt.
		e.Message = string(body)
	}
	e.Code = apierr.Clean(e.Code, 64, secrets...)
	e.Message = apierr.Clean(e.Message, 200, secrets...)
	if status == 401 {
		// Say what to fix, whatever the server's wording.
		e.Kind, e.Hint = ErrUnauthorized, ErrUnauthorized.Error()
	}
	return e
}
