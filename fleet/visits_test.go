package fleet_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// loyaltyRule counts visits per calendar month in UTC with a one-hour cooldown.
var loyaltyRule = store.VisitRule{Period: "month", Loc: time.UTC, Cooldown: time.Hour}

// loyaltyPolicy is reuse unlimited with the visit counter.
func loyaltyPolicy() verify.Policy {
	p := verify.DefaultPolicy()
	p.Reuse, p.Visits = verify.ReuseUnlimited, loyaltyRule
	return p
}

type loyaltyKiosk struct {
	*kiosk
	now        atomic.Pointer[time.Time]
	peerVisits atomic.Int64
}

// newLoyaltyKiosk is a kiosk counting visits, whose verifier's clock the
// test sets; codes 0 and 1 belong to holder bb1h (two codes, one
// customer), code 2 to bb1g.
func newLoyaltyKiosk(t testing.TB, id, broker string, at time.Time) *loyaltyKiosk {
	return newLoyaltyKioskStore(t, id, broker, at, false)
}

// newLoyaltyKioskStore is newLoyaltyKiosk with a choice of durability
// (benchmarks: fsync as on a kiosk).
func newLoyaltyKioskStore(t testing.TB, id, broker string, at time.Time, durable bool) *loyaltyKiosk {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), id+".db"), store.Options{NoSync: !durable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i, holder := range []string{"bb1h", "bb1h", "bb1g"} {
		if err := sn.Put(store.Record{Hash: store.HashCode(code(i)), BitBadgesAddress: holder, Address: "0x" + holder, Name: "Loyalty"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sn.Commit(store.SyncInfo{At: at.Add(-time.Hour), Source: "test"}); err != nil {
		t.Fatal(err)
	}
	pol := loyaltyPolicy()
	lk := &loyaltyKiosk{}
	lk.now.Store(&at)
	lk.kiosk = &kiosk{t: t, id: id, st: st,
		v: verify.New(st, verify.Options{Policy: pol, Kiosk: id, Now: func() time.Time { return *lk.now.Load() }})}
	lk.opt = fleet.Options{
		Kiosk: id, Broker: broker, TopicPrefix: prefix, SessionExpiry: time.Hour,
		StatusInterval: time.Second, PollInterval: 100 * time.Millisecond, ReconnectMax: 300 * time.Millisecond,
		Policy: fleet.Policy{Reuse: "unlimited", Visits: loyaltyRule}, Store: st, Logger: testLogger(t, id),
		OnPeerVisit: func(_ store.VisitEvent, added bool) {
			if added {
				lk.peerVisits.Add(1)
			}
		},
	}
	return lk
}

func (k *loyaltyKiosk) scan(t *testing.T, c string, at time.Time) verify.Verdict {
	t.Helper()
	k.now.Store(&at)
	vd := k.check(c)
	if !vd.Accept {
		t.Fatalf("%s rejected a loyalty code: %v", k.id, vd.Reason)
	}
	return vd
}

func (k *loyaltyKiosk) visits(holder string, at time.Time) store.Visits {
	k.t.Helper()
	v, err := k.st.HolderVisits(holder, loyaltyRule, at)
	if err != nil {
		k.t.Fatal(err)
	}
	return v
}

func wantVisit(t *testing.T, who string, vd verify.Verdict, n int, counted bool) {
	t.Helper()
	if vd.Visit != n || vd.VisitCounted != counted || vd.VisitPeriod != "2026-12" {
		t.Fatalf("%s: visit %d counted %v period %q, want %d %v 2026-12", who, vd.Visit, vd.VisitCounted, vd.VisitPeriod, n, counted)
	}
}

// TestVisitsAcrossPartition: two tills count one customer's visits. Online,
// a visit at one is known at the other at once (the second till's scan
// within the cooldown is the same visit). Partitioned, each counts alone;
// reconnected, both hold the same set and the same counts, the visits both
// counted within the cooldown of each other merged into one, and a
// redelivery counts nothing twice.
func TestVisitsAcrossPartition(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Options{})
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	a, bk := newLoyaltyKiosk(t, "A", b.URL(), t0), newLoyaltyKiosk(t, "B", b.URL(), t0)
	for _, k := range []*loyaltyKiosk{a, bk} {
		k.start()
	}
	for _, k := range []*loyaltyKiosk{a, bk} {
		eventually(t, 10*time.Second, k.id+" connected", k.connected)
		eventually(t, 5*time.Second, k.id+" sees its peer", func() bool { return len(k.f.Peers()) == 1 })
	}

	wantVisit(t, "A, first scan", a.scan(t, code(0), t0), 1, true)
	eventually(t, propagationBound, "B learns A's visit", func() bool { return bk.visits("bb1h", t0).Count == 1 })
	// The customer's other code at the other till, within the cooldown.
	wantVisit(t, "B, same visit", bk.scan(t, code(1), t0.Add(5*time.Minute)), 1, false)

	b.Stop()
	eventually(t, 5*time.Second, "both see the broker gone", func() bool { return !a.connected() && !bk.connected() })
	// Alone, each till counts what it sees.
	wantVisit(t, "A offline, bb1h", a.scan(t, code(0), t0.Add(2*time.Hour)), 2, true)
	wantVisit(t, "B offline, bb1h 10 min later", bk.scan(t, code(1), t0.Add(2*time.Hour+10*time.Minute)), 2, true)
	wantVisit(t, "B offline, bb1h again", bk.scan(t, code(0), t0.Add(4*time.Hour)), 3, true)
	wantVisit(t, "A offline, bb1g", a.scan(t, code(2), t0.Add(2*time.Hour)), 1, true)
	wantVisit(t, "B offline, bb1g", bk.scan(t, code(2), t0.Add(5*time.Hour)), 1, true)

	b.StartAgain()
	later := t0.Add(6 * time.Hour)
	// bb1h: t0 (A), +2h (A), +2h10 (B, within the cooldown of A's: one
	// visit), +4h (B) = 3. bb1g: +2h (A), +5h (B) = 2.
	for _, k := range []*loyaltyKiosk{a, bk} {
		eventually(t, 10*time.Second, k.id+" converges", func() bool {
			return k.visits("bb1h", later).Count == 3 && k.visits("bb1g", later).Count == 2
		})
	}
	rule := a.v.VisitRule()
	for _, k := range []*loyaltyKiosk{a, bk} {
		tot, err := k.st.VisitTotals(rule, later)
		if err != nil || tot.Visits != 5 || tot.Holders != 2 {
			t.Fatalf("%s totals %+v %v", k.id, tot, err)
		}
	}
	// Set A's next visit: visit 4 at both, whichever till.
	wantVisit(t, "A after the merge", a.scan(t, code(1), later), 4, true)
	eventually(t, propagationBound, "B learns visit 4", func() bool { return bk.visits("bb1h", later).Count == 4 })
	wantVisit(t, "B within the cooldown of visit 4", bk.scan(t, code(0), later.Add(time.Minute)), 4, false)

	// A restarted fleet may get B's visits again: nothing counts twice.
	before := a.peerVisits.Load()
	a.stop()
	a.start()
	eventually(t, 10*time.Second, "A reconnected", a.connected)
	eventually(t, 5*time.Second, "A's outbox empty", func() bool { return a.f.Status().Pending == 0 })
	if n := a.peerVisits.Load(); n != before {
		t.Fatalf("A added %d peer visits after a restart", n-before)
	}
	if v := a.visits("bb1h", later); v.Count != 4 {
		t.Fatalf("A after restart: %+v", v)
	}
	// B published its three counted visits (the within-cooldown scans are
	// redemptions only); A applied them once each.
	eventually(t, 5*time.Second, "B's outbox empty", func() bool { return bk.f.Status().Pending == 0 })
	if s := bk.f.Status().Visits; !s.Enabled || s.Published != 3 {
		t.Fatalf("B's visit status %+v", s)
	}
	if n := a.peerVisits.Load(); n != 3 {
		t.Fatalf("A applied %d of B's visits, want 3", n)
	}
}
