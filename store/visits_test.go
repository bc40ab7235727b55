package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestVisitPeriodKey(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		period string
		loc    *time.Location
		at     string
		want   string
	}{
		{"month", london, "2026-12-31T23:30:00Z", "2026-12"},
		{"month", london, "2027-01-01T00:00:00Z", "2027-01"},
		{"month", ny, "2027-01-01T03:00:00Z", "2026-12"}, // still New Year's Eve in New York
		{"month", nil, "2027-01-01T03:00:00Z", "2027-01"},
		{"day", ny, "2026-12-03T04:59:59Z", "2026-12-02"},
		{"day", ny, "2026-12-03T05:00:00Z", "2026-12-03"},
		{"day", london, "2026-03-29T00:30:00Z", "2026-03-29"}, // the night the clocks go forward
		{"week", london, "2027-01-01T12:00:00Z", "2026-W53"},  // a Friday in ISO week 53 of 2026
		{"week", london, "2027-01-04T00:00:00Z", "2027-W01"},  // Monday
		{"week", ny, "2027-01-04T03:00:00Z", "2026-W53"},      // still Sunday in New York
		{"none", london, "2026-12-03T12:00:00Z", "all"},
	}
	for _, tt := range tests {
		at, _ := time.Parse(time.RFC3339, tt.at)
		if got := (VisitRule{Period: tt.period, Loc: tt.loc}).PeriodKey(at); got != tt.want {
			t.Errorf("%s in %v at %s: %q, want %q", tt.period, tt.loc, tt.at, got, tt.want)
		}
	}
}

func scanAt(t testing.TB, st *Store, holder string, rule VisitRule, at time.Time) Visits {
	t.Helper()
	n := NewNonce()
	v, err := st.RecordVisit(context.Background(), Redemption{Hash: HashCode(holder + n), At: at, Kiosk: "A", Nonce: n},
		Event{Kind: KindVerdict, Accept: true, Reason: "ok"}, holder, rule)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRecordVisitCooldownAndPeriods(t *testing.T) {
	rule := VisitRule{Period: "month", Loc: time.UTC, Cooldown: time.Hour}
	base := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	type scan struct {
		after   time.Duration // since base
		counted bool
		number  int
		count   int
		period  string
	}
	tests := []struct {
		name  string
		rule  VisitRule
		scans []scan
	}{
		{"first scan is visit 1", rule, []scan{{0, true, 1, 1, "2026-12"}}},
		{"second scan within the cooldown is the same visit", rule, []scan{
			{0, true, 1, 1, "2026-12"}, {time.Minute, false, 1, 1, "2026-12"}, {59 * time.Minute, false, 1, 1, "2026-12"},
		}},
		{"at the cooldown it is a new visit", rule, []scan{
			{0, true, 1, 1, "2026-12"}, {time.Hour, true, 2, 2, "2026-12"}, {3 * time.Hour, true, 3, 3, "2026-12"},
		}},
		{"a new month starts at 1", rule, []scan{
			{0, true, 1, 1, "2026-12"}, {28 * 24 * time.Hour, true, 2, 2, "2026-12"}, {29 * 24 * time.Hour, true, 1, 1, "2027-01"},
		}},
		{"no cooldown counts every scan", VisitRule{Period: "day", Loc: time.UTC}, []scan{
			{0, true, 1, 1, "2026-12-03"}, {time.Millisecond, true, 2, 2, "2026-12-03"}, {time.Second, true, 3, 3, "2026-12-03"},
		}},
		{"a scan earlier than the last visit (clock stepped back) is within its cooldown", rule, []scan{
			{time.Hour, true, 1, 1, "2026-12"}, {30 * time.Minute, false, 1, 1, "2026-12"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := openTest(t, Options{NoSync: true})
			for i, s := range tt.scans {
				v := scanAt(t, st, "bb1holder", tt.rule, base.Add(s.after))
				if v.Counted != s.counted || v.Number != s.number || v.Count != s.count || v.Period != s.period {
					t.Fatalf("scan %d (+%v): %+v, want counted %v number %d count %d period %s",
						i, s.after, v, s.counted, s.number, s.count, s.period)
				}
			}
		})
	}
}

func TestRecordVisitRecordsRedemptionEventAndFleet(t *testing.T) {
	st, _ := openTest(t, Options{NoSync: true})
	if err := st.EnableFleetOutbox(); err != nil {
		t.Fatal(err)
	}
	rule := VisitRule{Period: "month", Loc: time.UTC, Cooldown: time.Hour}
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	h := HashCode("code-1")
	ctx := context.Background()
	for i, want := range []struct {
		counted bool
		detail  string
	}{{true, "visit 1 of 2026-12"}, {false, "same visit 1 of 2026-12 (within the cooldown)"}} {
		n := fmt.Sprintf("nonce-%d", i)
		v, err := st.RecordVisit(ctx, Redemption{Hash: h, At: at.Add(time.Duration(i) * time.Minute), Kiosk: "A", Nonce: n},
			Event{Kind: KindVerdict, Accept: true, Reason: "ok", Detail: "entry"}, "bb1x", rule)
		if err != nil || v.Counted != want.counted {
			t.Fatalf("scan %d: %+v, %v", i, v, err)
		}
		// A repeated nonce changes nothing (idempotent, like Redeem).
		if _, err := st.RecordVisit(ctx, Redemption{Hash: h, At: at, Kiosk: "A", Nonce: n}, Event{Kind: KindVerdict}, "bb1x", rule); err != nil {
			t.Fatal(err)
		}
		evs, _ := st.PendingEvents(10)
		if len(evs) != i+1 || evs[i].Detail != "entry; "+want.detail {
			t.Fatalf("events after scan %d: %+v", i, evs)
		}
	}
	rs, ok, err := st.RedemptionState(h)
	if err != nil || !ok || rs.Count != 2 {
		t.Fatalf("redemption state %+v %v %v", rs, ok, err)
	}
	items, _ := st.PendingFleet(10)
	if len(items) != 2 || items[0].Redemption.Holder != "bb1x" || items[1].Redemption.Holder != "" {
		t.Fatalf("fleet outbox: the counted visit carries its holder, the other not: %+v", items)
	}
	tot, err := st.VisitTotals(rule, at)
	if err != nil || tot != (VisitTotals{Period: "2026-12", Visits: 1, Holders: 1}) {
		t.Fatalf("totals %+v %v", tot, err)
	}
	// Read-only: the next scan would be visit 2 after the cooldown, not before.
	for _, tc := range []struct {
		at      time.Time
		counted bool
		number  int
	}{{at.Add(10 * time.Minute), false, 1}, {at.Add(2 * time.Hour), true, 2}} {
		v, err := st.HolderVisits("bb1x", rule, tc.at)
		if err != nil || v.Count != 1 || v.Counted != tc.counted || v.Number != tc.number || !v.Last.Equal(at) {
			t.Fatalf("HolderVisits at %v: %+v, %v", tc.at, v, err)
		}
	}
	if v, _ := st.HolderVisits("bb1nobody", rule, at); v.Count != 0 || !v.Counted || v.Number != 1 {
		t.Fatalf("a stranger: %+v", v)
	}
}

func TestVisitsPrunedAndTotalsPerPeriod(t *testing.T) {
	st, _ := openTest(t, Options{NoSync: true})
	rule := VisitRule{Period: "day", Loc: time.UTC, Cooldown: time.Hour}
	d1 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	scanAt(t, st, "bb1a", rule, d1)
	scanAt(t, st, "bb1a", rule, d1.Add(2*time.Hour))
	scanAt(t, st, "bb1b", rule, d1)
	if tot, _ := st.VisitTotals(rule, d1); tot.Visits != 3 || tot.Holders != 2 {
		t.Fatalf("day 1 totals %+v", tot)
	}
	d2 := d1.Add(24 * time.Hour)
	if v := scanAt(t, st, "bb1a", rule, d2); v.Number != 1 || v.Count != 1 {
		t.Fatalf("day 2: %+v", v)
	}
	if ids := st.visitIDs("bb1a", rule, d1); len(ids) != 0 {
		t.Fatalf("bb1a's day 1 kept after day 2: %v", ids)
	}
	if ids := st.visitIDs("bb1b", rule, d1); len(ids) != 1 {
		t.Fatalf("bb1b's day 1 pruned without a later visit: %v", ids)
	}
	if tot, _ := st.VisitTotals(rule, d2); tot.Visits != 1 || tot.Holders != 1 || tot.Period != "2026-12-04" {
		t.Fatalf("day 2 totals %+v", tot)
	}
	// A change of period kind starts afresh.
	month := VisitRule{Period: "month", Loc: time.UTC, Cooldown: time.Hour}
	if v := scanAt(t, st, "bb1a", month, d2.Add(3*time.Hour)); v.Number != 1 {
		t.Fatalf("month after days: %+v", v)
	}
	if ids := st.visitIDs("bb1a", rule, d2); len(ids) != 0 {
		t.Fatalf("day lists kept after the switch to months: %v", ids)
	}
}

func TestVisitsBounded(t *testing.T) {
	st, _ := openTest(t, Options{NoSync: true})
	rule := VisitRule{Period: "none", Cooldown: 0}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	vs := make([]VisitEvent, VisitsKept)
	for i := range vs {
		vs[i] = VisitEvent{ID: fmt.Sprintf("p%04d", i), Holder: "bb1a", Kiosk: "B", At: at.Add(time.Duration(i) * time.Second)}
	}
	if _, err := st.ApplyPeerVisits(context.Background(), vs, rule); err != nil {
		t.Fatal(err)
	}
	v := scanAt(t, st, "bb1a", rule, at.Add(time.Hour))
	if v.Counted || !v.Full || v.Count != VisitsKept || v.Number != VisitsKept {
		t.Fatalf("past the bound: %+v", v)
	}
	if n := len(st.visitIDs("bb1a", rule, at)); n != VisitsKept {
		t.Fatalf("%d kept", n)
	}
}

func TestApplyPeerVisitsRejectsInvalid(t *testing.T) {
	st, _ := openTest(t, Options{NoSync: true})
	rule := VisitRule{Period: "month"}
	at := time.Now()
	for _, bad := range []VisitEvent{
		{ID: "x", Holder: "", At: at}, {ID: "", Holder: "bb1a", At: at}, {ID: "x", Holder: "bb1a"},
		{ID: "x", Holder: "a\x00b", At: at}, {ID: "x", Holder: strings.Repeat("a", 200), At: at},
	} {
		if _, err := st.ApplyPeerVisits(context.Background(), []VisitEvent{{ID: "ok", Holder: "bb1a", At: at}, bad}, rule); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if ids := st.visitIDs("bb1a", rule, at); len(ids) != 0 {
		t.Fatalf("a failed call wrote %v", ids)
	}
	if _, err := st.ApplyPeerVisits(context.Background(), nil, VisitRule{}); err == nil {
		t.Error("applied without a rule")
	}
}

// TestVisitMergeProperties: whatever order and however often kiosks' visit
// events arrive, every store ends with the same set and the same counts
// (commutative, associative, idempotent), equal to what the union gives,
// and no two counted visits of a holder are closer than the cooldown.
func TestVisitMergeProperties(t *testing.T) {
	holders := []string{"bb1a", "bb1b", "bb1c"}
	base := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 21))
		rule := VisitRule{Period: []string{"day", "week", "month", "none"}[seed%4], Loc: time.UTC,
			Cooldown: time.Duration(rng.IntN(4)) * 30 * time.Minute}
		var events []VisitEvent
		for i := range 10 + rng.IntN(40) {
			events = append(events, VisitEvent{
				ID: fmt.Sprintf("e%d-%d", seed, i), Holder: holders[rng.IntN(len(holders))], Kiosk: []string{"A", "B", "C"}[rng.IntN(3)],
				// Within a few days, sometimes at the same instant.
				At: base.Add(time.Duration(rng.IntN(72*4)) * 15 * time.Minute),
			})
		}
		type result struct {
			ids    map[string][]string
			counts map[string]Visits
			totals VisitTotals
		}
		apply := func(order []VisitEvent, batch int) result {
			st, _ := openTest(t, Options{NoSync: true})
			for len(order) > 0 {
				n := min(batch, len(order))
				if _, err := st.ApplyPeerVisits(context.Background(), order[:n], rule); err != nil {
					t.Fatal(err)
				}
				order = order[n:]
			}
			r := result{ids: map[string][]string{}, counts: map[string]Visits{}}
			last := base.Add(80 * time.Hour)
			for _, h := range holders {
				// The latest period: earlier ones of a holder are pruned
				// once a later one is written, in any order of arrival.
				r.ids[h] = st.visitIDs(h, rule, last)
				v, err := st.HolderVisits(h, rule, last)
				if err != nil {
					t.Fatal(err)
				}
				r.counts[h] = v
			}
			r.totals, _ = st.VisitTotals(rule, last)
			return r
		}
		want := apply(events, len(events))
		for round := range 4 {
			order := slices.Clone(events)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			// Redelivered messages: some events arrive again.
			for range rng.IntN(10) {
				order = append(order, events[rng.IntN(len(events))])
			}
			got := apply(order, 1+rng.IntN(8))
			for _, h := range holders {
				if !slices.Equal(got.ids[h], want.ids[h]) || got.counts[h] != want.counts[h] {
					t.Fatalf("seed %d round %d holder %s: %v %+v, want %v %+v", seed, round, h, got.ids[h], got.counts[h], want.ids[h], want.counts[h])
				}
			}
			if got.totals != want.totals {
				t.Fatalf("seed %d round %d: totals %+v, want %+v", seed, round, got.totals, want.totals)
			}
		}
		// The count is the union's, and counted visits are a cooldown apart.
		last := base.Add(80 * time.Hour)
		lastKey := rule.PeriodKey(last)
		var sum uint64
		for _, h := range holders {
			var mine []visitRec
			for _, e := range events {
				if e.Holder == h && rule.PeriodKey(e.At) == lastKey {
					mine = append(mine, visitRec{ID: e.ID, At: timeNs(e.At)})
				}
			}
			slices.SortFunc(mine, visitLess)
			n, nums := countVisits(mine, rule.Cooldown)
			if want.counts[h].Count != n {
				t.Fatalf("seed %d holder %s: count %d, the union gives %d", seed, h, want.counts[h].Count, n)
			}
			for i := 1; i < len(mine); i++ {
				if nums[i] != nums[i-1] {
					var prev int64
					for j := i - 1; j >= 0; j-- {
						if j == 0 || nums[j] != nums[j-1] {
							prev = mine[j].At
							break
						}
					}
					if time.Duration(mine[i].At-prev) < rule.Cooldown {
						t.Fatalf("seed %d holder %s: two visits %v apart, cooldown %v", seed, h, time.Duration(mine[i].At-prev), rule.Cooldown)
					}
				}
			}
			sum += uint64(n)
		}
		if want.totals.Visits != sum {
			t.Fatalf("seed %d: totals %+v, holders' counts sum to %d", seed, want.totals, sum)
		}
	}
}

// dropVisit is for benchmarks: it removes one visit from a holder's set.
func (s *Store) dropVisit(holder string, rule VisitRule, at time.Time, id string) {
	_ = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVisits)
		key := visitKey(holder, rule.kindKey(at))
		evs := loadVisits(b, key)
		evs = slices.DeleteFunc(evs, func(e visitRec) bool { return e.ID == id })
		v, _ := encodeVisits(evs)
		return b.Put(key, v)
	})
}

func FuzzDecodeVisits(f *testing.F) {
	good, _ := encodeVisits([]visitRec{{ID: "a", Kiosk: "A", At: 1}, {ID: "b", Kiosk: "B", At: 1}, {ID: "a", At: 5}})
	f.Add(good)
	f.Add([]byte{visitsV1})
	f.Add([]byte{visitsV1, 0, 0, 0, 0, 0, 0, 0, 1, 200})
	f.Add([]byte("[]"))
	f.Fuzz(func(t *testing.T, v []byte) {
		evs, err := decodeVisits(v)
		if err != nil {
			return
		}
		// Whatever is accepted is a list encodeVisits writes back the same.
		if !slices.IsSortedFunc(evs, visitLess) || len(evs) > VisitsKept {
			t.Fatalf("accepted an unordered or oversized list %v", evs)
		}
		again, err := encodeVisits(evs)
		if err != nil || string(again) != string(v) {
			t.Fatalf("round trip: %x → %v → %x, %v", v, evs, again, err)
		}
	})
}

// TestVisitsSurviveReopenAndRecover: the visit counts are state like the
// redemptions: kept across a restart, and copied by store recover.
func TestVisitsSurviveReopenAndRecover(t *testing.T) {
	st, path := openTest(t, Options{})
	rule := VisitRule{Period: "month", Loc: time.UTC, Cooldown: time.Hour}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	scanAt(t, st, "bb1a", rule, at)
	scanAt(t, st, "bb1a", rule, at.Add(2*time.Hour))
	st = reopen(t, st, path, Options{})
	if v, _ := st.HolderVisits("bb1a", rule, at.Add(3*time.Hour)); v.Count != 2 {
		t.Fatalf("after reopen: %+v", v)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Recover(path, Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, _ := st.HolderVisits("bb1a", rule, at.Add(3*time.Hour)); v.Count != 2 {
		t.Fatalf("after recover: %+v", v)
	}
	if tot, _ := st.VisitTotals(rule, at); tot.Visits != 2 || tot.Holders != 1 {
		t.Fatalf("totals after recover: %+v", tot)
	}
}
