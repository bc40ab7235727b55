package sync

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/kioskd/kioskd/internal/backoff"

	"github.com/kioskd/kioskd/sync/bitbadges"
)

// backoffPolicy is the sync's and the upload's wait after failures:
// "equal jitter" (a random point in the upper half), so a fleet of kiosks
// that lost the network together does not come back in lockstep.
func backoffPolicy(lo, hi time.Duration, r func() float64) backoff.Policy {
	return backoff.Policy{Min: lo, Max: hi, Low: 0.5, High: 1, Rand: r}
}

// ErrorKind names the class of a sync or upload error, for status pages,
// logs and metrics: unauthorized, credits, rate-limited, timeout, network,
// server, malformed, too-large, store, no-refresh-token, canceled or other.
func ErrorKind(err error) string {
	var ae *bitbadges.APIError
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrHeldBack):
		return "held-back"
	case errors.Is(err, ErrSyncBound):
		return "bound"
	case errors.Is(err, ErrBookmarkCycle):
		return "bookmark-cycle"
	case errors.Is(err, ErrNoRefreshToken):
		return "no-refresh-token"
	case errors.Is(err, errSnapshot):
		return "store"
	case errors.Is(err, bitbadges.ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, bitbadges.ErrCredits):
		return "credits"
	case errors.Is(err, bitbadges.ErrRateLimited):
		return "rate-limited"
	case errors.Is(err, bitbadges.ErrTooLarge):
		return "too-large"
	case errors.Is(err, bitbadges.ErrMalformed):
		return "malformed"
	case errors.As(err, &ae):
		if ae.Status >= 500 {
			return "server"
		}
		return "client"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ne), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "network"
	}
	return "other"
}

// needsHuman reports errors that retrying cannot fix: bad credentials,
// exhausted credits, no refresh token. They are retried at the slowest pace
// only (the venue may fix them in the meantime).
func needsHuman(err error) bool {
	return errors.Is(err, bitbadges.ErrUnauthorized) || errors.Is(err, bitbadges.ErrCredits) ||
		errors.Is(err, ErrNoRefreshToken)
}
