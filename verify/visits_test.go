package verify

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

// newVisitRig is a store whose codes 0 and 1 belong to one holder (two
// codes, one bitbadgesAddress), code 2 to another, and code 3 has no
// address at all.
func newVisitRig(t *testing.T) *rig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sn, _ := st.NewSnapshot()
	recs := []store.Record{
		{Hash: store.HashCode(code(0)), Address: "0xAbC", BitBadgesAddress: "bb1regular", Name: "Loyalty card"},
		{Hash: store.HashCode(code(1)), Address: "bb1regular", Name: "Loyalty card"},
		{Hash: store.HashCode(code(2)), Address: "bb1other", Name: "Loyalty card"},
		{Hash: store.HashCode(code(3)), Name: "No address"},
	}
	for _, r := range recs {
		if err := sn.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sn.Commit(store.SyncInfo{At: t0.Add(-time.Hour), Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	c.set(t0)
	return &rig{st: st, clk: c, logs: &bytes.Buffer{}}
}

func loyalty(cooldown time.Duration) func(*Options) {
	return func(o *Options) {
		o.Policy.Reuse = ReuseUnlimited
		o.Policy.Visits = store.VisitRule{Period: "month", Loc: time.UTC, Cooldown: cooldown}
	}
}

func TestVisitsCountedPerHolder(t *testing.T) {
	r := newVisitRig(t)
	v := r.verifier(loyalty(time.Hour))
	ctx := context.Background()
	period := t0.UTC().Format("2006-01")
	steps := []struct {
		after   time.Duration
		code    int
		dir     string
		dry     bool
		holder  string
		visit   int
		counted bool
	}{
		{0, 0, "", false, "bb1regular", 1, true},
		{time.Minute, 0, "", false, "bb1regular", 1, false},          // the same visit: accepted, not counted
		{2 * time.Minute, 1, "", false, "bb1regular", 1, false},      // another code of the same holder
		{3 * time.Minute, 2, "", false, "bb1other", 1, true},         // another holder
		{time.Hour, 1, "", true, "bb1regular", 2, true},              // a dry run says what it would be
		{time.Hour, 1, store.DirExit, false, "bb1regular", 0, false}, // leaving counts nothing
		{time.Hour, 1, store.DirEntry, false, "bb1regular", 2, true},
		{2 * time.Hour, 3, "", false, "", 0, false}, // no address: accepted, nobody to count
	}
	for i, s := range steps {
		r.clk.set(t0.Add(s.after))
		vd := v.Check(ctx, code(s.code), CheckOpts{DryRun: s.dry, Direction: s.dir})
		if !vd.Accept || vd.Reason != OK {
			t.Fatalf("step %d: %+v: reuse unlimited accepts", i, vd)
		}
		wantPeriod := period
		if s.visit == 0 {
			wantPeriod = ""
		}
		if vd.Holder != s.holder || vd.Visit != s.visit || vd.VisitCounted != s.counted || vd.VisitPeriod != wantPeriod {
			t.Fatalf("step %d: holder %q visit %d counted %v period %q; want %q %d %v %q",
				i, vd.Holder, vd.Visit, vd.VisitCounted, vd.VisitPeriod, s.holder, s.visit, s.counted, wantPeriod)
		}
	}
	if st := v.VisitStats(); st != (VisitStats{Counted: 3, Same: 2}) {
		t.Fatalf("visit stats %+v", st)
	}
	vs, ok, err := v.HolderVisits("bb1regular", t0.Add(3*time.Hour))
	if err != nil || !ok || vs.Count != 2 {
		t.Fatalf("bb1regular's visits: %+v %v %v", vs, ok, err)
	}
	tot, ok, err := v.VisitTotals(t0)
	if err != nil || !ok || tot.Visits != 3 || tot.Holders != 2 || tot.Period != period {
		t.Fatalf("totals %+v %v %v", tot, ok, err)
	}
	// Every accepted scan is recorded, counted or not; the events say which.
	evs, _ := r.st.PendingEvents(100)
	var details []string
	for _, e := range evs {
		details = append(details, e.Detail)
		if strings.Contains(e.Detail, "bb1") {
			t.Errorf("an event names the holder: %q", e.Detail)
		}
	}
	joined := strings.Join(details, "|")
	for _, want := range []string{"visit 1 of " + period, "same visit 1 of " + period + " (within the cooldown)", "entry; visit 2 of " + period} {
		if !strings.Contains(joined, want) {
			t.Errorf("events %q lack %q", joined, want)
		}
	}
}

func TestVisitsOffWithoutCounter(t *testing.T) {
	r := newVisitRig(t)
	v := r.verifier(func(o *Options) { o.Policy.Reuse = ReuseUnlimited })
	for range 2 {
		vd := v.Check(context.Background(), code(0), CheckOpts{})
		if !vd.Accept || vd.Visit != 0 || vd.VisitPeriod != "" || vd.Holder != "bb1regular" {
			t.Fatalf("%+v", vd)
		}
	}
	if _, ok, _ := v.VisitTotals(t0); ok {
		t.Fatal("totals without a counter")
	}
}

func TestVisitsUntrustedClock(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		visit   int
		counted bool
		warn    string
	}{
		{"last-known", 1, true, "clock untrusted"},
		{"reject", 0, false, "visit not counted"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			r := newVisitRig(t)
			if err := r.st.ObserveTrustedTime(t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			v := r.verifier(func(o *Options) { loyalty(time.Hour)(o); o.Policy.UntrustedClock = tc.mode })
			vd := v.Check(context.Background(), code(0), CheckOpts{})
			if !vd.Accept || vd.Visit != tc.visit || vd.VisitCounted != tc.counted || !strings.Contains(vd.Warning, tc.warn) {
				t.Fatalf("%+v", vd)
			}
		})
	}
}

func TestVisitPeriodKind(t *testing.T) {
	for _, tc := range []struct{ period, kind string }{
		{"2026-12-03", "day"}, {"2026-W49", "week"}, {"2026-12", "month"}, {"all", "none"}, {"", ""}, {"2026", ""},
	} {
		if got := VisitPeriodKind(tc.period); got != tc.kind {
			t.Errorf("%q: %q, want %q", tc.period, got, tc.kind)
		}
	}
	// Every key the store makes is named back to its period.
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, p := range []string{"day", "week", "month", "none"} {
		key := (store.VisitRule{Period: p}).PeriodKey(at)
		if got := VisitPeriodKind(key); got != p {
			t.Errorf("%s: key %q named %q", p, key, got)
		}
	}
}
