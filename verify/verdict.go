package verify

import (
	"time"
)

// Reason is why a code was accepted or rejected: one small, fixed vocabulary
// shared by the outputs, logs, metrics, events and the status page.
type Reason uint8

const (
	OK             Reason = iota // accepted
	Unknown                      // not in the cache (and not confirmed online)
	AlreadyUsed                  // the re-use policy forbids another entry now
	Expired                      // the code's expiresAt has passed
	OutsideWindow                // outside policy.valid_from/valid_until
	StaleCache                   // the cache is older than policy.max_cache_age and the venue rejects then
	ClockUntrusted               // a time rule could not be decided: the wall clock is not trusted
	NotACode                     // a QR that is not a kiosk code
	AntiPassback                 // entry while already inside, or exit while outside
	Error                        // kioskd could not decide (store failure); never accepts
	// RequirementNotMet: the holder does not hold the badge an access
	// requirement names (Verdict.Requirement says which).
	RequirementNotMet
	numReasons
)

var reasonNames = [numReasons]string{
	OK:                "ok",
	Unknown:           "unknown",
	AlreadyUsed:       "already-used",
	Expired:           "expired",
	OutsideWindow:     "outside-window",
	StaleCache:        "stale-cache",
	ClockUntrusted:    "clock-untrusted",
	NotACode:          "not-a-code",
	AntiPassback:      "anti-passback",
	Error:             "error",
	RequirementNotMet: "requirement-not-met",
}

// String returns the reason's stable name, as used in logs, metrics and events.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "invalid"
}

// Reasons lists every reason, for metrics that want a series per reason.
func Reasons() []Reason {
	rs := make([]Reason, numReasons)
	for i := range rs {
		rs[i] = Reason(i)
	}
	return rs
}

// ParseReason is the inverse of String.
func ParseReason(s string) (Reason, bool) {
	for i, n := range reasonNames {
		if n == s {
			return Reason(i), true
		}
	}
	return 0, false
}

// Verdict is the decision for one presentation of one code.
type Verdict struct {
	Accept bool
	Reason Reason
	// Hash is the hex sha256 of the code (never the code itself); empty for NotACode.
	Hash string
	// Name and Address describe the cached record, when there was one.
	Name    string
	Address string
	At      time.Time // the time the decision was taken at (the trusted time when the clock was not)
	// Warning is set when the kiosk accepted despite a fault the venue allows
	// (stale cache with stale_cache: warn, untrusted clock with last-known).
	Warning string
	// Online is true when the code was confirmed by an online exchange.
	Online bool
	// Requirement names the access requirement that failed (with
	// RequirementNotMet, or StaleCache when its badge owners were stale or
	// missing), or on an accept the ones that were met; empty when the
	// venue has none.
	Requirement string
	// Holder is the holder's BitBadges address (the record's
	// bitbadgesAddress, else its address): the identity a till needs.
	Holder string
	// Visit is the holder's visit number in VisitPeriod under the loyalty
	// counter (policy.visits; 0 = not counted: no counter, a reject, an
	// exit). VisitCounted is false for a scan within the cooldown, which
	// is part of visit Visit rather than a new one. VisitPeriod is the
	// period's key: "2026-12" (month), "2026-W49" (ISO week),
	// "2026-12-03" (day) or "all" (lifetime), in the venue's time zone.
	Visit        int
	VisitPeriod  string
	VisitCounted bool
	// Input names where the code was read (CheckOpts.Input).
	Input string
	// Nonce is the nonce of the verdict's event in the outbox: its one id,
	// shared by the event upload and every hand-off output (package
	// output/handoff); empty for a dry run.
	Nonce string
}
