package sync

import (
	stdsync "sync"
	"time"
)

// TrustedTime follows the server's clock from response Date headers and
// passes it to the store, at most once per Every of server time (the store
// fsyncs each observation) and on Flush.
type TrustedTime struct {
	Cache interface{ ObserveTrustedTime(time.Time) error }
	// Every throttles writes; 0 = one minute.
	Every time.Duration

	mu      stdsync.Mutex
	latest  time.Time
	flushed time.Time
}

// Observe is the bitbadges.Client OnServerTime hook.
func (t *TrustedTime) Observe(at time.Time) {
	t.mu.Lock()
	if at.After(t.latest) {
		t.latest = at
	}
	every := t.Every
	if every <= 0 {
		every = time.Minute
	}
	due := t.latest.Sub(t.flushed) >= every
	t.mu.Unlock()
	if due {
		_ = t.Flush() // best effort; the next flush retries
	}
}

// Latest is the newest server time seen (zero if none).
func (t *TrustedTime) Latest() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.latest
}

// Flush stores the newest server time seen, if it was not stored yet.
func (t *TrustedTime) Flush() error {
	t.mu.Lock()
	at := t.latest
	if !at.After(t.flushed) || t.Cache == nil {
		t.mu.Unlock()
		return nil
	}
	t.mu.Unlock()
	if err := t.Cache.ObserveTrustedTime(at); err != nil {
		return err
	}
	t.mu.Lock()
	if at.After(t.flushed) {
		t.flushed = at
	}
	t.mu.Unlock()
	return nil
}
