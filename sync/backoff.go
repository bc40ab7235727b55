package sync

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/kioskd/kioskd/sync/bitbadges"
)

// Backoff computes the wait before the next attempt after consecutive
// failures: Min doubled per failure up to Max, with "equal jitter" (a
// random point in the upper half) so a fleet of kiosks that lost the
// network together does not come back in lockstep.
type Backoff struct {
	Min, Max time.Duration
	// Rand returns a float in [0,1); nil = math/rand/v2.
	Rand func() float64
}

// Delay is the wait after the n-th consecutive failure (n >= 1).
func (b Backoff) Delay(n int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = time.Second
	}
	if hi < lo {
		hi = lo
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	half := d / 2
	return half + time.Duration(r()*float64(d-half))
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
		if ae.StatusCode >= 500 {
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
