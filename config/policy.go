package config

import (
	"time"
)

// Reuse is the venue's re-use policy for one code.
type Reuse string

const (
	ReuseSingle    Reuse = "single"    // once ever
	ReuseCooldown  Reuse = "cooldown"  // again after Policy.Cooldown
	ReuseUnlimited Reuse = "unlimited" // loyalty: identify only
)

// Policy is the venue's verification policy.
type Policy struct {
	Reuse    Reuse         `yaml:"reuse"`
	Cooldown time.Duration `yaml:"cooldown"`
	// ValidFrom and ValidUntil bound the event (RFC 3339); empty = open.
	ValidFrom  string `yaml:"valid_from"`
	ValidUntil string `yaml:"valid_until"`
	// MaxCacheAge: a cache whose last full sync is older is stale; 0 = never.
	MaxCacheAge time.Duration `yaml:"max_cache_age"`
	// StaleCache says what a stale cache does: "reject" every code, or "warn"
	// (accept from the old cache and show the fault pattern).
	StaleCache string `yaml:"stale_cache"`
	// UntrustedClock says what happens to time-dependent rules when the wall
	// clock is earlier than the latest trustworthy time kioskd has seen:
	// "reject" time-dependent verdicts, or "last-known" (decide as if it were the last trusted time).
	UntrustedClock string `yaml:"untrusted_clock"`
	// ClockTolerance is how far the wall clock may lag the latest trusted time
	// (server Date headers have 1 s resolution; NTP drifts) before it is untrusted.
	ClockTolerance time.Duration `yaml:"clock_tolerance"`
	// AntiPassback with entry/exit scans: a code inside cannot enter again until it exits.
	AntiPassback bool `yaml:"anti_passback"`
	// Visits is the loyalty visit counter (visits.go); off unless set.
	Visits Visits `yaml:"visits"`
}

func defaultPolicy() Policy {
	return Policy{Reuse: ReuseSingle, StaleCache: "warn", UntrustedClock: "last-known", ClockTolerance: 2 * time.Minute}
}

// Window parses ValidFrom and ValidUntil (zero time when unset).
func (p *Policy) Window() (from, until time.Time) {
	from, _ = time.Parse(time.RFC3339, p.ValidFrom)
	until, _ = time.Parse(time.RFC3339, p.ValidUntil)
	return from, until
}

func (p *Policy) validate() error {
	switch p.Reuse {
	case ReuseSingle, ReuseUnlimited:
	case ReuseCooldown:
		if p.Cooldown <= 0 {
			return keyErr("policy.cooldown", "must be positive when policy.reuse is cooldown")
		}
	default:
		return keyErr("policy.reuse", "must be single, cooldown or unlimited, not %q", p.Reuse)
	}
	if p.Cooldown < 0 {
		return keyErr("policy.cooldown", "must not be negative")
	}
	var from, until time.Time
	var err error
	if p.ValidFrom != "" {
		if from, err = time.Parse(time.RFC3339, p.ValidFrom); err != nil {
			return keyErr("policy.valid_from", "not an RFC 3339 time: %v", err)
		}
	}
	if p.ValidUntil != "" {
		if until, err = time.Parse(time.RFC3339, p.ValidUntil); err != nil {
			return keyErr("policy.valid_until", "not an RFC 3339 time: %v", err)
		}
	}
	if !from.IsZero() && !until.IsZero() && !until.After(from) {
		return keyErr("policy.valid_until", "must be after policy.valid_from")
	}
	if p.ClockTolerance < 0 || p.ClockTolerance > 24*time.Hour {
		return keyErr("policy.clock_tolerance", "must be between 0 and 24h, not %v", p.ClockTolerance)
	}
	if p.MaxCacheAge < 0 {
		return keyErr("policy.max_cache_age", "must not be negative")
	}
	switch p.StaleCache {
	case "reject", "warn":
	default:
		return keyErr("policy.stale_cache", "must be reject or warn, not %q", p.StaleCache)
	}
	switch p.UntrustedClock {
	case "reject", "last-known":
	default:
		return keyErr("policy.untrusted_clock", "must be reject or last-known, not %q", p.UntrustedClock)
	}
	return p.Visits.validate(p.Reuse)
}
