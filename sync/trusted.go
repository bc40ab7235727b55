package sync

import (
	stdsync "sync"
	"time"
)

// TrustedTime follows the server's clock from the Date headers of
// successful responses (bitbadges.Client reports no other) and passes it to
// the store, at most once per Every of server time (the store fsyncs each
// observation) and on Flush. The store bounds what one observation may do to
// its trusted-time floor (store.ObserveServerTime).
type TrustedTime struct {
	Cache interface {
		ObserveServerTime(time.Time) (bool, error)
	}
	// Every throttles writes; 0 = one minute.
	Every time.Duration

	mu      stdsync.Mutex
	latest  time.Time // the last Date seen, not the greatest: one far-off Date must not mask the next
	flushed time.Time // the last Date passed to the store
}

// Observe is the bitbadges.Client OnServerTime hook.
func (t *TrustedTime) Observe(at time.Time) {
	t.mu.Lock()
	t.latest = at
	every := t.Every
	if every <= 0 {
		every = time.Minute
	}
	// A Date earlier than the last one passed on follows one the store may
	// have refused as too far ahead: pass it on rather than wait to catch up.
	due := at.Sub(t.flushed) >= every || at.Before(t.flushed)
	t.mu.Unlock()
	if due {
		_ = t.Flush() // best effort; the next flush retries
	}
}

// Latest is the last server time seen (zero if none).
func (t *TrustedTime) Latest() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.latest
}

// Flush passes the last server time seen to the store, if it was not yet.
func (t *TrustedTime) Flush() error {
	t.mu.Lock()
	at := t.latest
	if at.IsZero() || at.Equal(t.flushed) || t.Cache == nil {
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	if _, err := t.Cache.ObserveServerTime(at); err != nil {
		return err
	}
	t.mu.Lock()
	t.flushed = at
	t.mu.Unlock()
	return nil
}
