package verify

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kioskd/kioskd/store"
)

// BalanceChecker re-checks one address's badges online: the second chance
// of a visitor the cached owners do not qualify (they may have received the
// badge minutes ago). The sync package implements it over BitBadges.
type BalanceChecker interface {
	Balance(ctx context.Context, collection, address string) ([]store.Balance, error)
}

// prefetched are the owners' description and a visitor's holdings, read
// in the same transaction as the code's record.
type prefetched struct {
	info     store.OwnersInfo
	holdings map[string]store.Holding
}

// gateOutcome is the access requirements' answer for one visitor.
type gateOutcome struct {
	Reason      Reason // OK, RequirementNotMet, StaleCache or Error
	Requirement string // the failed requirement's name (or, on OK, the met ones)
	Warning     string
	Detail      string // for the event: what was decided how
}

// Meets reports whether bals hold at least q.MinAmount of q's tokens
// together at time at. Ownership counts only inside its ownershipTimes, so
// a season pass stops at the season's end.
func Meets(q store.Requirement, bals []store.Balance, at time.Time) bool {
	return held(q, bals, at) >= q.MinAmount
}

// held sums the amounts of q's tokens in bals owned at time at (saturating).
func held(q store.Requirement, bals []store.Balance, at time.Time) uint64 {
	ms := uint64(max(at.UnixMilli(), 0))
	var sum uint64
	for _, b := range bals {
		if b.Amount == 0 || !inTimes(b.OwnershipTimes, ms) {
			continue
		}
		for _, t := range b.TokenIDs {
			for _, r := range q.TokenIDs {
				lo, hi := max(t.Start, r.Start), min(t.End, r.End)
				if lo > hi {
					continue
				}
				sum = addSat(sum, mulSat(b.Amount, hi-lo+1))
			}
		}
	}
	return sum
}

func inTimes(rs []store.Range, ms uint64) bool {
	for _, r := range rs {
		if r.Start <= ms && ms <= r.End {
			return true
		}
	}
	return false
}

func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

func mulSat(a, b uint64) uint64 {
	if a != 0 && b > math.MaxUint64/a {
		return math.MaxUint64
	}
	return a * b
}

// ownersState is what the verdict knows of one requirement's owners data.
type ownersState uint8

const (
	ownersFresh   ownersState = iota
	ownersStale               // older than access.max_owners_age
	ownersMissing             // the serving snapshot has none for this requirement
)

func (a accessPolicy) state(i int, info store.OwnersInfo, at time.Time) ownersState {
	if !info.Has(a.keys[i]) {
		return ownersMissing
	}
	if a.MaxOwnersAge > 0 && at.Sub(info.SyncedAt) > a.MaxOwnersAge {
		return ownersStale
	}
	return ownersFresh
}

// accessPolicy is Access with what every verdict needs precomputed.
type accessPolicy struct {
	Access
	keys  []string // Requirement.Key of each requirement
	colls []string // the requirements' collections, once each
}

func newAccessPolicy(a Access) accessPolicy {
	p := accessPolicy{Access: a}
	for _, q := range a.Require {
		p.keys = append(p.keys, q.Key())
		if !slices.Contains(p.colls, q.CollectionID) {
			p.colls = append(p.colls, q.CollectionID)
		}
	}
	return p
}

// evaluate decides the requirements for one visitor from what the store
// holds, at time at. It is a pure function: the property tests compare it
// with a direct evaluation.
func (a accessPolicy) evaluate(info store.OwnersInfo, holdings map[string]store.Holding, at time.Time) gateOutcome {
	// Names; small arrays so that a verdict does not allocate for them.
	var fb, ub, mb [4]string
	failed, unsure, met := fb[:0], ub[:0], mb[:0]
	var stale bool // a decision rests on stale data
	firstFail := ""
	for i, q := range a.Require {
		h := holdings[q.CollectionID]
		st := a.state(i, info, at)
		if h.Online {
			st = ownersFresh // re-checked online since the last sync
		}
		ok := Meets(q, h.Balances, at)
		switch {
		case st == ownersMissing && !ok:
			unsure = append(unsure, q.Name)
			continue
		case st == ownersStale:
			stale = true
			if a.StaleOwners == "reject" {
				unsure = append(unsure, q.Name)
				continue
			}
		}
		if ok {
			met = append(met, q.Name)
		} else {
			failed = append(failed, q.Name)
			if firstFail == "" {
				firstFail = q.Name
			}
		}
	}
	out := gateOutcome{}
	warnUnsure := func() {
		out.Warning = "badge owners not synced for " + strings.Join(unsure, ", ") + ": accepted unchecked"
	}
	if a.Match == "any" {
		switch {
		case len(met) > 0:
			out.Reason, out.Requirement = OK, met[0]
		case len(unsure) > 0 && a.StaleOwners == "warn":
			out.Reason, out.Requirement = OK, unsure[0]
			warnUnsure()
		case len(unsure) > 0 && len(failed) == 0:
			out.Reason, out.Requirement = StaleCache, unsure[0]
		default:
			out.Reason, out.Requirement = RequirementNotMet, firstFail
		}
	} else {
		switch {
		case len(failed) > 0:
			out.Reason, out.Requirement = RequirementNotMet, firstFail
		case len(unsure) > 0 && a.StaleOwners == "reject":
			out.Reason, out.Requirement = StaleCache, unsure[0]
		case len(unsure) > 0:
			out.Reason, out.Requirement = OK, strings.Join(met, ", ")
			warnUnsure()
		default:
			out.Reason, out.Requirement = OK, strings.Join(met, ", ")
		}
	}
	if out.Reason == OK && stale {
		out.Warning = joinWarn(out.Warning, "badge owners stale")
	}
	return out
}

// gate applies the access requirements to an otherwise accepted entry of
// address at time at, with the online second chance when it fails.
// pre, when set, are the holdings already read with the code's record.
func (v *Verifier) gate(ctx context.Context, address string, at time.Time, dry bool, pre *prefetched) gateOutcome {
	a := v.access
	colls := a.colls
	var info store.OwnersInfo
	var holdings map[string]store.Holding
	if pre != nil {
		info, holdings = pre.info, pre.holdings
	} else {
		var err error
		if info, holdings, err = v.st.Holdings(address, colls); err != nil {
			v.log.Error("reading badge holdings", "err", err)
			return gateOutcome{Reason: Error, Detail: "reading badge holdings"}
		}
	}
	out := a.evaluate(info, holdings, at)
	if out.Reason == OK || out.Reason == Error || dry || v.o.Balances == nil || address == "" {
		return out
	}
	// The second chance, within the online budget (one budget for all the
	// visitor's collections: the person is waiting at the door).
	ctx, cancel := context.WithTimeout(ctx, v.o.ExchangeBudget)
	defer cancel()
	type answer struct {
		coll string
		bals []store.Balance
		err  error
	}
	answers := make([]answer, len(colls))
	var wg sync.WaitGroup
	for i, c := range colls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bals, err := v.o.Balances.Balance(ctx, c, address)
			answers[i] = answer{c, bals, err}
		}()
	}
	wg.Wait()
	online := map[string]store.Holding{}
	for c, h := range holdings {
		online[c] = h
	}
	asked := 0
	for _, ans := range answers {
		if ans.err != nil {
			v.log.Info("online badge re-check failed", "collection", ans.coll, "address", addrPrefix(address),
				"timeout", ctx.Err() != nil)
			continue
		}
		asked++
		online[ans.coll] = store.Holding{Balances: ans.bals, Online: true}
	}
	if asked == 0 {
		return out
	}
	second := a.evaluate(info, online, at)
	if second.Reason != OK {
		second.Detail = "online re-check: not met"
		return second
	}
	// Keep what BitBadges said until the next sync, so the next scan of
	// this visitor does not wait on the network again.
	for _, ans := range answers {
		if ans.err == nil {
			if err := v.st.PutOnlineHolding(ans.coll, address, ans.bals); err != nil {
				v.log.Warn("keeping an online badge re-check", "err", err)
			}
		}
	}
	second.Detail = "online re-check passed"
	return second
}

// addrPrefix is the loggable part of an address: enough to tell visitors
// apart in the events, not the whole of it.
func addrPrefix(a string) string {
	if len(a) > 10 {
		return a[:10] + "…"
	}
	return a
}

// RequirementStatus is one access requirement as the status page shows it.
type RequirementStatus struct {
	Name         string `json:"name"`
	CollectionID string `json:"collection_id"`
	TokenIDs     string `json:"token_ids"`
	MinAmount    uint64 `json:"min_amount"`
	// Synced: the serving snapshot has this requirement's owners.
	Synced bool `json:"synced"`
	// Holders counts the addresses meeting it at the time of the count.
	Holders int `json:"holders"`
}

// holderCache keeps the holder counts of one owners snapshot: counting reads
// every owner, which is worth doing once per sync, not once per status poll.
type holderCache struct {
	mu       sync.Mutex
	syncedAt time.Time
	at       time.Time
	counts   []int
}

// Requirements lists the access requirements with their holder counts at
// time now (recounted at most once per sync, and once an hour so that
// ended ownership windows drop out).
func (v *Verifier) Requirements(now time.Time) ([]RequirementStatus, error) {
	reqs := v.o.Access.Require
	if len(reqs) == 0 {
		return nil, nil
	}
	info, err := v.st.Owners()
	if err != nil {
		return nil, err
	}
	at, _ := v.policy().decisionTime(now, v.st.TrustedTime())
	c := &v.holders
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil || !c.syncedAt.Equal(info.SyncedAt) || at.Sub(c.at) > time.Hour || at.Before(c.at) {
		counts := make([]int, len(reqs))
		err := v.st.ForEachOwner(func(coll, _ string, bals []store.Balance) error {
			for i, q := range reqs {
				if q.CollectionID == coll && Meets(q, bals, at) {
					counts[i]++
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("counting badge holders: %w", err)
		}
		c.counts, c.syncedAt, c.at = counts, info.SyncedAt, at
	}
	out := make([]RequirementStatus, len(reqs))
	for i, q := range reqs {
		ids := make([]string, len(q.TokenIDs))
		for j, r := range q.TokenIDs {
			ids[j] = r.String()
		}
		out[i] = RequirementStatus{Name: q.Name, CollectionID: q.CollectionID, TokenIDs: strings.Join(ids, ","),
			MinAmount: q.MinAmount, Synced: info.Has(q.Key()), Holders: c.counts[i]}
	}
	return out, nil
}

// OwnersHealth is the age of the badge owners data, apart from the codes'.
type OwnersHealth struct {
	Synced time.Time     // when the serving owners were complete; zero: none
	Age    time.Duration // at the decision time (0 when none)
	// Stale: a requirement has no owners in the serving snapshot, or they
	// are older than access.max_owners_age.
	Stale  bool
	Owners int // (collection, address) entries
}

// OwnersHealth reports the owners data's age at wall time now, measured as
// the cache's is (up to the last trusted time when the clock is not).
func (v *Verifier) OwnersHealth(now time.Time) (OwnersHealth, error) {
	info, err := v.st.Owners()
	if err != nil {
		return OwnersHealth{Stale: true}, err
	}
	at, _ := v.policy().decisionTime(now, v.st.TrustedTime())
	h := OwnersHealth{Synced: info.SyncedAt, Owners: info.Owners}
	if !info.SyncedAt.IsZero() {
		h.Age = max(at.Sub(info.SyncedAt), 0)
	}
	for i := range v.access.Require {
		if v.access.state(i, info, at) != ownersFresh {
			h.Stale = true
		}
	}
	return h, nil
}
