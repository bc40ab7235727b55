package assembly

import (
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// The config's sections mapped onto the parts' own Options. The config has
// validated every value; these only copy.

// PolicyOptions is the policy: section as verify's Policy.
func PolicyOptions(p config.Policy) verify.Policy {
	return verify.Policy{Reuse: verify.Reuse(p.Reuse), Cooldown: p.Cooldown, ValidFrom: p.ValidFrom, ValidUntil: p.ValidUntil,
		MaxCacheAge: p.MaxCacheAge, StaleCache: p.StaleCache, UntrustedClock: p.UntrustedClock,
		ClockTolerance: p.ClockTolerance, AntiPassback: p.AntiPassback, Visits: VisitRule(p.Visits)}
}

// AccessOptions is the access: section as verify's Access.
func AccessOptions(a config.Access) verify.Access {
	return verify.Access{Require: Requirements(a.Require), Match: a.Match, MaxOwnersAge: a.MaxOwnersAge, StaleOwners: a.StaleOwners}
}

// Requirements are access.require as the store keys them.
func Requirements(rs []config.Requirement) []store.Requirement {
	if rs == nil {
		return nil
	}
	out := make([]store.Requirement, len(rs))
	for i, q := range rs {
		ids := make([]store.Range, len(q.TokenIDs))
		for j, r := range q.TokenIDs {
			ids[j] = store.Range{Start: r.Start, End: r.End}
		}
		out[i] = store.Requirement{Name: q.Name, CollectionID: q.CollectionID, TokenIDs: ids, MinAmount: q.MinAmount}
	}
	return out
}
