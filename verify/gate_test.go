package verify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

func forever(token, amount uint64) store.Balance {
	return store.Balance{Amount: amount, TokenIDs: []store.Range{{Start: token, End: token}}, OwnershipTimes: []store.Range{{Start: 1, End: math.MaxUint64}}}
}

func during(token uint64, from, until time.Time) store.Balance {
	return store.Balance{Amount: 1, TokenIDs: []store.Range{{Start: token, End: token}},
		OwnershipTimes: []store.Range{{Start: uint64(from.UnixMilli()), End: uint64(until.UnixMilli()) - 1}}}
}

var season = store.Requirement{Name: "Season pass", CollectionID: "17", TokenIDs: []store.Range{{Start: 1, End: 1}}, MinAmount: 1}
var vip = store.Requirement{Name: "VIP", CollectionID: "18", TokenIDs: []store.Range{{Start: 5, End: 9}}, MinAmount: 2}

// gatedStore holds codes 0..9 (code i's holder is bb1addr<i>) and, when
// owners is not nil, those owners synced for reqs, all committed at syncAt.
func gatedStore(t testing.TB, reqs []store.Requirement, owners map[string]map[string][]store.Balance, syncAt time.Time) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sn, _ := st.NewSnapshot()
	for i := range 10 {
		sn.Put(store.Record{Hash: store.HashCode(code(i)), Address: fmt.Sprintf("bb1addr%d", i), Chain: "Cosmos"})
	}
	if owners != nil {
		for coll, m := range owners {
			for addr, b := range m {
				if err := sn.PutOwner(coll, addr, b); err != nil {
					t.Fatal(err)
				}
			}
		}
		keys := make([]string, len(reqs))
		for i, q := range reqs {
			keys[i] = q.Key()
		}
		sn.OwnersSynced(keys)
	}
	if err := sn.Commit(store.SyncInfo{At: syncAt, Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func gatedVerifier(st *store.Store, clk *clock, access Access, bc BalanceChecker) *Verifier {
	p := DefaultPolicy()
	p.Reuse = ReuseUnlimited
	if access.Match == "" {
		access.Match = "all"
	}
	if access.StaleOwners == "" {
		access.StaleOwners = "reject"
	}
	return New(st, Options{Policy: p, Kiosk: "door-1", Now: clk.now, Access: access, Balances: bc})
}

func TestGateVerdicts(t *testing.T) {
	owners := map[string]map[string][]store.Balance{
		"17": {
			"bb1addr1": {forever(1, 1)},
			"bb1addr2": {during(1, t0.Add(-24*time.Hour), t0.Add(time.Hour))}, // a season pass ending in an hour
			"bb1addr3": {during(1, t0.Add(-48*time.Hour), t0)},                // ended at t0
			"bb1addr4": {forever(2, 5)},                                       // another token
			"bb1addr6": {forever(1, 1)},
		},
		"18": {
			"bb1addr6": {forever(5, 1), forever(9, 1)}, // two tokens of the range together
			"bb1addr7": {forever(7, 1)},                // one is not enough
		},
	}
	for _, tc := range []struct {
		name    string
		reqs    []store.Requirement
		match   string
		code    int
		dir     string
		want    Reason
		wantReq string
	}{
		{"holder", []store.Requirement{season}, "all", 1, "", OK, "Season pass"},
		{"season pass running", []store.Requirement{season}, "all", 2, "", OK, "Season pass"},
		{"season pass ended", []store.Requirement{season}, "all", 3, "", RequirementNotMet, "Season pass"},
		{"other token", []store.Requirement{season}, "all", 4, "", RequirementNotMet, "Season pass"},
		{"no badge", []store.Requirement{season}, "all", 0, "", RequirementNotMet, "Season pass"},
		{"leaving needs no badge", []store.Requirement{season}, "all", 0, store.DirExit, OK, ""},
		{"all: both met", []store.Requirement{season, vip}, "all", 6, "", OK, "Season pass, VIP"},
		{"all: one missing", []store.Requirement{season, vip}, "all", 1, "", RequirementNotMet, "VIP"},
		{"min_amount across the range", []store.Requirement{vip}, "all", 7, "", RequirementNotMet, "VIP"},
		{"any: one is enough", []store.Requirement{season, vip}, "any", 1, "", OK, "Season pass"},
		{"any: none", []store.Requirement{season, vip}, "any", 7, "", RequirementNotMet, "Season pass"},
		{"unknown code is still unknown", []store.Requirement{season}, "all", 42, "", Unknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := gatedStore(t, tc.reqs, owners, t0.Add(-time.Hour))
			clk := &clock{}
			clk.set(t0)
			v := gatedVerifier(st, clk, Access{Require: tc.reqs, Match: tc.match}, nil)
			if tc.dir != "" {
				v.o.Policy.AntiPassback = false
			}
			code := code(tc.code)
			if tc.code == 42 {
				code = strings.Repeat("ab", 32)
			}
			vd := v.Check(context.Background(), code, CheckOpts{Direction: tc.dir})
			if vd.Reason != tc.want || vd.Accept != (tc.want == OK) || vd.Requirement != tc.wantReq {
				t.Fatalf("verdict %v %q; want %v %q", vd.Reason, vd.Requirement, tc.want, tc.wantReq)
			}
		})
	}
}

func TestGateEventsNameTheRequirementNotTheAddress(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	long := "bb1" + strings.Repeat("q", 38)
	sn, _ := st.NewSnapshot()
	sn.Put(store.Record{Hash: store.HashCode(code(0)), Address: "0xabcdef0123456789", BitBadgesAddress: long, Chain: "ETH"})
	// An ETH holder is joined to the owners by bitbadgesAddress, not address.
	sn.Put(store.Record{Hash: store.HashCode(code(1)), Address: "0x99", BitBadgesAddress: "bb1holder", Chain: "ETH"})
	sn.PutOwner("17", "bb1holder", []store.Balance{forever(1, 1)})
	sn.PutOwner("17", "0xabcdef0123456789", []store.Balance{forever(1, 1)})
	sn.OwnersSynced([]string{season.Key()})
	if err := sn.Commit(store.SyncInfo{At: t0.Add(-time.Hour), Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	clk.set(t0)
	v := gatedVerifier(st, clk, Access{Require: []store.Requirement{season}}, nil)
	if vd := v.Check(context.Background(), code(1), CheckOpts{DryRun: true}); vd.Reason != OK {
		t.Fatalf("ETH holder: %v", vd.Reason)
	}
	if vd := v.Check(context.Background(), code(0), CheckOpts{}); vd.Reason != RequirementNotMet {
		t.Fatalf("verdict %v (joined on the native address?)", vd.Reason)
	}
	evs, err := st.PendingEvents(10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %+v, %v", evs, err)
	}
	e := evs[0]
	if e.Reason != "requirement-not-met" || !strings.Contains(e.Detail, "requirement Season pass") ||
		!strings.Contains(e.Detail, "address "+long[:10]+"…") || strings.Contains(e.Detail, long) {
		t.Fatalf("event detail %q", e.Detail)
	}
}

func TestGateOwnersFreshness(t *testing.T) {
	owners := map[string]map[string][]store.Balance{"17": {"bb1addr1": {forever(1, 1)}}}
	for _, tc := range []struct {
		name    string
		synced  bool          // owners synced for the requirement
		age     time.Duration // of the snapshot at t0
		maxAge  time.Duration
		policy  string
		code    int
		want    Reason
		warning bool
	}{
		{"fresh holder", true, time.Hour, 2 * time.Hour, "reject", 1, OK, false},
		{"stale, reject", true, 3 * time.Hour, 2 * time.Hour, "reject", 1, StaleCache, false},
		{"stale, warn, holder", true, 3 * time.Hour, 2 * time.Hour, "warn", 1, OK, true},
		{"stale, warn, non-holder", true, 3 * time.Hour, 2 * time.Hour, "warn", 0, RequirementNotMet, false},
		{"missing, reject", false, time.Hour, 0, "reject", 1, StaleCache, false},
		{"missing, warn", false, time.Hour, 0, "warn", 0, OK, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o map[string]map[string][]store.Balance
			if tc.synced {
				o = owners
			}
			st := gatedStore(t, []store.Requirement{season}, o, t0.Add(-tc.age))
			clk := &clock{}
			clk.set(t0)
			v := gatedVerifier(st, clk, Access{Require: []store.Requirement{season},
				MaxOwnersAge: tc.maxAge, StaleOwners: tc.policy}, nil)
			vd := v.Check(context.Background(), code(tc.code), CheckOpts{DryRun: true})
			if vd.Reason != tc.want || (vd.Warning != "") != tc.warning {
				t.Fatalf("verdict %v, warning %q; want %v, warning %v", vd.Reason, vd.Warning, tc.want, tc.warning)
			}
			if tc.want != OK && vd.Requirement != "Season pass" {
				t.Fatalf("requirement %q", vd.Requirement)
			}
		})
	}
}

func TestGateClockRules(t *testing.T) {
	// bb1addr2's pass ended at t0; the kiosk last knew t0-1m; its wall
	// clock says t0-1h (rebooted offline, wrong).
	owners := map[string]map[string][]store.Balance{"17": {"bb1addr2": {during(1, t0.Add(-24*time.Hour), t0)}}}
	st := gatedStore(t, []store.Requirement{season}, owners, t0.Add(-time.Minute))
	clk := &clock{}
	clk.set(t0.Add(-time.Hour))
	v := gatedVerifier(st, clk, Access{Require: []store.Requirement{season}}, nil)
	if vd := v.Check(context.Background(), code(2), CheckOpts{DryRun: true}); vd.Reason != OK {
		t.Fatalf("last-known: %v (the pass was valid at the last trusted time)", vd.Reason)
	}
	// The clock moves on, still untrusted at the decision: once the trusted
	// time passes the end of the pass, it is refused though the wall clock
	// is earlier.
	if err := st.ObserveTrustedTime(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if vd := v.Check(context.Background(), code(2), CheckOpts{DryRun: true}); vd.Reason != RequirementNotMet {
		t.Fatalf("last-known after the end: %v", vd.Reason)
	}
	v.o.Policy.UntrustedClock = "reject"
	if vd := v.Check(context.Background(), code(2), CheckOpts{DryRun: true}); vd.Reason != ClockUntrusted {
		t.Fatalf("reject: %v", vd.Reason)
	}
}

type fakeBalances struct {
	calls atomic.Int32
	bals  map[string][]store.Balance // collection/address
	delay time.Duration
	err   error
}

func (f *fakeBalances) Balance(ctx context.Context, coll, addr string) ([]store.Balance, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(f.delay):
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	return f.bals[coll+"/"+addr], nil
}

func TestGateOnlineSecondChance(t *testing.T) {
	st := gatedStore(t, []store.Requirement{season}, map[string]map[string][]store.Balance{"17": {}}, t0.Add(-time.Hour))
	clk := &clock{}
	clk.set(t0)
	fb := &fakeBalances{bals: map[string][]store.Balance{"17/bb1addr1": {forever(1, 1)}}}
	v := gatedVerifier(st, clk, Access{Require: []store.Requirement{season}}, fb)
	ctx := context.Background()
	// Dry runs stay offline.
	if vd := v.Check(ctx, code(1), CheckOpts{DryRun: true}); vd.Reason != RequirementNotMet || fb.calls.Load() != 0 {
		t.Fatalf("dry run: %v, %d calls", vd.Reason, fb.calls.Load())
	}
	// Received the badge after the sync: let in, and the pass is kept.
	if vd := v.Check(ctx, code(1), CheckOpts{}); vd.Reason != OK || fb.calls.Load() != 1 {
		t.Fatalf("online pass: %+v, %d calls", vd, fb.calls.Load())
	}
	fb.err = errors.New("offline now")
	if vd := v.Check(ctx, code(1), CheckOpts{}); vd.Reason != OK || fb.calls.Load() != 1 {
		t.Fatalf("kept pass: %v, %d calls", vd.Reason, fb.calls.Load())
	}
	evs, _ := st.PendingEvents(10)
	if len(evs) < 2 || !strings.Contains(evs[len(evs)-2].Detail, "online re-check passed") {
		t.Fatalf("events %+v", evs)
	}
	// Someone who still has no badge: asked online, still refused.
	fb.err = nil
	if vd := v.Check(ctx, code(0), CheckOpts{}); vd.Reason != RequirementNotMet || fb.calls.Load() != 2 {
		t.Fatalf("online fail: %v, %d calls", vd.Reason, fb.calls.Load())
	}
	// Until the next sync: then the kept pass is gone with the old owners.
	st2 := st
	sn, _ := st2.NewSnapshot()
	sn.Put(store.Record{Hash: store.HashCode(code(1)), Address: "bb1addr1"})
	sn.OwnersSynced([]string{season.Key()})
	if err := sn.Commit(store.SyncInfo{At: t0, Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	fb.err = errors.New("offline")
	if vd := v.Check(ctx, code(1), CheckOpts{}); vd.Reason != RequirementNotMet {
		t.Fatalf("after the next sync: %v", vd.Reason)
	}
}

func TestGateOnlineBudget(t *testing.T) {
	st := gatedStore(t, []store.Requirement{season}, map[string]map[string][]store.Balance{"17": {}}, t0.Add(-time.Hour))
	clk := &clock{}
	clk.set(t0)
	fb := &fakeBalances{delay: time.Minute, bals: map[string][]store.Balance{"17/bb1addr1": {forever(1, 1)}}}
	v := gatedVerifier(st, clk, Access{Require: []store.Requirement{season}}, fb)
	v.o.ExchangeBudget = 50 * time.Millisecond
	start := time.Now()
	vd := v.Check(context.Background(), code(1), CheckOpts{})
	if vd.Reason != RequirementNotMet || time.Since(start) > 5*time.Second {
		t.Fatalf("%v after %v", vd.Reason, time.Since(start))
	}
}

// held by direct evaluation: walk every token id and every balance.
func directHeld(q store.Requirement, bals []store.Balance, atMs uint64) uint64 {
	var sum uint64
	for _, r := range q.TokenIDs {
		for id := r.Start; id <= r.End; id++ {
			for _, b := range bals {
				owned := false
				for _, t := range b.OwnershipTimes {
					owned = owned || (t.Start <= atMs && atMs <= t.End)
				}
				for _, t := range b.TokenIDs {
					if owned && t.Start <= id && id <= t.End {
						sum += b.Amount
					}
				}
			}
		}
	}
	return sum
}

// TestGateProperty: random holders and ownership windows, synced into the
// store, give offline the verdicts a direct evaluation gives.
func TestGateProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 2026))
	for round := range 20 {
		reqs := []store.Requirement{
			{Name: "A", CollectionID: "1", TokenIDs: []store.Range{{Start: 1, End: 3}}, MinAmount: 1 + rng.Uint64N(3)},
			{Name: "B", CollectionID: "2", TokenIDs: []store.Range{{Start: 2, End: 2}, {Start: 5, End: 6}}, MinAmount: 1 + rng.Uint64N(2)},
		}
		match := []string{"all", "any"}[rng.IntN(2)]
		base := uint64(t0.UnixMilli())
		owners := map[string]map[string][]store.Balance{"1": {}, "2": {}}
		for i := range 10 {
			addr := fmt.Sprintf("bb1addr%d", i)
			for _, coll := range []string{"1", "2"} {
				var bals []store.Balance
				for range rng.IntN(3) {
					lo := 1 + rng.Uint64N(6)
					start := base - 3_600_000 + rng.Uint64N(7_200_000)
					bals = append(bals, store.Balance{Amount: 1 + rng.Uint64N(2),
						TokenIDs:       []store.Range{{Start: lo, End: lo + rng.Uint64N(3)}},
						OwnershipTimes: []store.Range{{Start: start, End: start + rng.Uint64N(3_600_000)}}})
				}
				if bals != nil {
					owners[coll][addr] = bals
				}
			}
		}
		st := gatedStore(t, reqs, owners, t0.Add(-2*time.Hour))
		clk := &clock{}
		v := gatedVerifier(st, clk, Access{Require: reqs, Match: match}, nil)
		for range 10 {
			at := t0.Add(time.Duration(rng.Int64N(int64(2*time.Hour))) - time.Hour).Truncate(time.Millisecond)
			clk.set(at)
			for i := range 10 {
				met := 0
				for _, q := range reqs {
					if directHeld(q, owners[q.CollectionID][fmt.Sprintf("bb1addr%d", i)], uint64(at.UnixMilli())) >= q.MinAmount {
						met++
					}
				}
				want := met == len(reqs) || (match == "any" && met > 0)
				vd := v.Check(context.Background(), code(i), CheckOpts{DryRun: true})
				if vd.Accept != want || (!want && vd.Reason != RequirementNotMet) {
					t.Fatalf("round %d, %s, code %d at %v: %v; direct evaluation says %v", round, match, i, at, vd.Reason, want)
				}
			}
		}
	}
}
