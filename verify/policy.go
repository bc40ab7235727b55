package verify

import (
	"time"

	"github.com/kioskd/kioskd/store"
)

// facts are everything a decision depends on; decide is a pure function of
// them, so the policies can be tested exhaustively without a store.
type facts struct {
	Found    bool
	Record   store.Record
	State    store.RedemptionState
	Redeemed bool
	LastSync time.Time
	Wall     time.Time // the kiosk's wall clock
	Trusted  time.Time // the latest trustworthy time (zero: none seen)

	Direction    string
	Exchangeable bool // an unknown code may be confirmed online
}

// decision is decide's answer. NeedExchange means every rule that does not
// need the record passed and the code should be exchanged online (the
// record's expiry is then checked on the exchanged record).
type decision struct {
	Reason       Reason
	At           time.Time // the time the rules were evaluated at
	ClockTrusted bool
	Warning      string
	NeedExchange bool
}

type policy struct {
	Policy
	from, until time.Time
}

// decisionTime is the time rules are evaluated at: the wall clock, unless it
// is earlier than the trusted time by more than the tolerance; then the
// trusted time (the latest moment known to have passed).
func (p policy) decisionTime(wall, trusted time.Time) (time.Time, bool) {
	if !trusted.IsZero() && wall.Before(trusted.Add(-p.ClockTolerance)) {
		return trusted, false
	}
	return wall, true
}

func (p policy) stale(at, lastSync time.Time) bool {
	if p.MaxCacheAge <= 0 {
		return false
	}
	return lastSync.IsZero() || at.Sub(lastSync) > p.MaxCacheAge
}

// timeRules reports whether any rule that needs the current time applies to
// this presentation.
func (p policy) timeRules(f facts) bool {
	if !p.from.IsZero() || !p.until.IsZero() {
		return true
	}
	if f.Found && p.MaxCacheAge > 0 {
		return true
	}
	if f.Found && !f.Record.ExpiresAt.IsZero() {
		return true
	}
	if p.Reuse == ReuseCooldown && f.Direction != store.DirExit && f.Redeemed && f.State.Count > 0 {
		return true
	}
	return false
}

// decide applies the policy. Order matters: the first failing rule names the
// reason (unknown, clock, stale cache, window, expiry, re-use, anti-passback).
func (p policy) decide(f facts) decision {
	at, trusted := p.decisionTime(f.Wall, f.Trusted)
	d := decision{At: at, ClockTrusted: trusted}
	// Warnings explain an accept despite a fault; a reject's reason says it all.
	reject := func(r Reason) decision { d.Reason, d.Warning = r, ""; return d }

	if !f.Found && !f.Exchangeable {
		return reject(Unknown)
	}
	if !trusted {
		if p.UntrustedClock == "reject" && p.timeRules(f) {
			return reject(ClockUntrusted)
		}
		d.Warning = "clock untrusted: decided as at the last trusted time"
	}
	// A code confirmed online does not depend on the cache's age.
	if f.Found && p.stale(at, f.LastSync) {
		if p.StaleCache == "reject" {
			return reject(StaleCache)
		}
		d.Warning = joinWarn(d.Warning, "stale cache")
	}
	if (!p.from.IsZero() && at.Before(p.from)) || (!p.until.IsZero() && !at.Before(p.until)) {
		return reject(OutsideWindow)
	}
	if f.Found && !f.Record.ExpiresAt.IsZero() && !at.Before(f.Record.ExpiresAt) {
		return reject(Expired)
	}
	// Exits are not uses: leaving never consumes a code.
	if f.Direction != store.DirExit && f.Redeemed && f.State.Count > 0 {
		switch p.Reuse {
		case ReuseSingle:
			return reject(AlreadyUsed)
		case ReuseCooldown:
			// A last use in the future (clock stepped back within the
			// tolerance) counts as within the cooldown.
			if at.Sub(f.State.LastUse.At) < p.Cooldown {
				return reject(AlreadyUsed)
			}
		}
	}
	if p.AntiPassback {
		inside := f.Redeemed && f.State.Inside
		switch f.Direction {
		case store.DirEntry:
			if inside {
				return reject(AntiPassback)
			}
		case store.DirExit:
			if !inside {
				return reject(AntiPassback)
			}
		}
	}
	if !f.Found {
		d.NeedExchange = true
		d.Reason = Unknown
		return d
	}
	d.Reason = OK
	return d
}

func joinWarn(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
