package verify

import (
	"time"

	"github.com/kioskd/kioskd/store"
)

// Reuse is the venue's re-use policy for one code.
type Reuse string

const (
	ReuseSingle    Reuse = "single"    // once ever
	ReuseCooldown  Reuse = "cooldown"  // again after Policy.Cooldown
	ReuseUnlimited Reuse = "unlimited" // loyalty: identify only
)

// Policy is the venue's verification policy (kioskd's policy: section,
// validated by the config before it gets here).
type Policy struct {
	Reuse    Reuse
	Cooldown time.Duration
	// ValidFrom and ValidUntil bound the event (RFC 3339); empty = open.
	ValidFrom, ValidUntil string
	// MaxCacheAge: a cache whose last full sync is older is stale; 0 = never.
	MaxCacheAge time.Duration
	// StaleCache is "reject" (every code) or "warn" (accept from the old
	// cache and show the fault pattern).
	StaleCache string
	// UntrustedClock is "reject" (time-dependent verdicts) or "last-known"
	// (decide as if it were the last trusted time).
	UntrustedClock string
	// ClockTolerance is how far the wall clock may lag the latest trusted
	// time before it is untrusted.
	ClockTolerance time.Duration
	// AntiPassback: with entry/exit scans, a code inside cannot enter again
	// until it exits.
	AntiPassback bool
	// Visits is the loyalty visit counter (visits.go); the zero rule is off.
	Visits store.VisitRule
}

// DefaultPolicy is the policy of a config that sets none of it.
func DefaultPolicy() Policy {
	return Policy{Reuse: ReuseSingle, StaleCache: "warn", UntrustedClock: "last-known", ClockTolerance: 2 * time.Minute}
}

// Window parses ValidFrom and ValidUntil (zero time when unset).
func (p *Policy) Window() (from, until time.Time) {
	from, _ = time.Parse(time.RFC3339, p.ValidFrom)
	until, _ = time.Parse(time.RFC3339, p.ValidUntil)
	return from, until
}

// Access gates entry on badges held (kioskd's access: section). No
// requirement: any valid code is enough.
type Access struct {
	Require []store.Requirement
	// Match is "all" (every requirement must be met) or "any".
	Match string
	// MaxOwnersAge: owners data older than this is stale; 0 = never.
	MaxOwnersAge time.Duration
	// StaleOwners is "reject" or "warn" (decide from what is there, accept
	// what cannot be decided, and flag the verdict).
	StaleOwners string
}

// Gated reports whether any requirement is configured.
func (a *Access) Gated() bool { return len(a.Require) > 0 }
