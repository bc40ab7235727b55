package store

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var year2100 = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeNow is a device clock the test moves.
type fakeNow struct{ t atomic.Pointer[time.Time] }

func newFakeNow(t time.Time) *fakeNow  { c := &fakeNow{}; c.set(t); return c }
func (c *fakeNow) now() time.Time      { return *c.t.Load() }
func (c *fakeNow) set(t time.Time)     { c.t.Store(&t) }
func (c *fakeNow) add(d time.Duration) { c.set(c.now().Add(d)) }

func commitAt(t *testing.T, st *Store, gen int, at time.Time, source string) {
	t.Helper()
	sn, err := st.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := sn.Put(testRecord(gen, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sn.Commit(SyncInfo{At: at, ServerTime: at, Source: source}); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotDated2100DoesNotLockTheClock is issue 15, item 3, through the
// API that existed before the fix: a sync whose server said 2100, or an
// imported file dated 2100, moved the trusted-time floor to 2100 for good
// (the clock then reads untrusted and every time rule is judged in 2100).
func TestSnapshotDated2100DoesNotLockTheClock(t *testing.T) {
	now := time.Now().UTC()
	limit := now.Add(DefaultClockStep + time.Hour) // the bound, with room for a slow test
	t.Run("sync", func(t *testing.T) {
		st, _ := openTest(t, Options{})
		fill(t, st, 1, 3, now)
		fill(t, st, 2, 3, year2100)
		m, _ := st.Meta()
		if m.TrustedTime.After(limit) || m.LastSync.After(limit) {
			t.Fatalf("one sync dated 2100 moved the floor to %v, last sync %v; want at most %v", m.TrustedTime, m.LastSync, limit)
		}
		if m.Count != 3 {
			t.Fatalf("the sync's codes were not kept: %d", m.Count)
		}
	})
	t.Run("import", func(t *testing.T) {
		src, _ := openTest(t, Options{})
		fill(t, src, 1, 5, now)
		// An export of a kiosk whose last sync says 2100.
		if err := src.db.Update(func(tx *bolt.Tx) error {
			putTime(tx.Bucket(bucketMeta), keyLastSync, year2100)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var file bytes.Buffer
		if err := src.Export(&file); err != nil {
			t.Fatal(err)
		}
		for _, floor := range []time.Time{{}, now.Add(-time.Hour)} {
			st, _ := openTest(t, Options{})
			if err := st.ObserveTrustedTime(floor); err != nil {
				t.Fatal(err)
			}
			if n, err := st.Import(bytes.NewReader(file.Bytes())); err != nil || n != 5 {
				t.Fatalf("import: %d, %v", n, err)
			}
			m, _ := st.Meta()
			if m.TrustedTime.After(limit) || m.LastSync.After(limit) {
				t.Fatalf("floor %v: an import dated 2100 moved the floor to %v, last sync %v", floor, m.TrustedTime, m.LastSync)
			}
			if !m.TrustedTime.Equal(floor) {
				t.Fatalf("floor %v: an import beyond the bound changed the floor to %v", floor, m.TrustedTime)
			}
		}
	})
}

func TestServerTimeBounded(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		elapsed time.Duration // device time since the floor t0 was set
		reopen  bool          // a restart in between: the elapsed time is not known
		server  time.Time
		floor   time.Time // want
	}{
		{"normal advance", time.Minute, false, t0.Add(time.Minute), t0.Add(time.Minute)},
		{"within a day of the floor", 0, false, t0.Add(23 * time.Hour), t0.Add(23 * time.Hour)},
		{"2100", time.Minute, false, year2100, t0},
		{"a day past floor plus elapsed", 2 * time.Hour, false, t0.Add(26*time.Hour + time.Second), t0},
		{"three days offline in one run", 72 * time.Hour, false, t0.Add(72 * time.Hour), t0.Add(72 * time.Hour)},
		{"three days off, restarted", 72 * time.Hour, true, t0.Add(72 * time.Hour), t0},
		{"earlier than the floor", time.Minute, false, t0.Add(-time.Hour), t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeNow(t0)
			st, path := openTest(t, Options{Now: clk.now})
			if taken, err := st.ObserveServerTime(t0); err != nil || !taken {
				t.Fatalf("first server time: %v %v", taken, err)
			}
			clk.add(tt.elapsed)
			if tt.reopen {
				st = reopen(t, st, path, Options{Now: clk.now})
			}
			taken, err := st.ObserveServerTime(tt.server)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.TrustedTime(); !got.Equal(tt.floor) || taken != !tt.floor.Equal(t0) {
				t.Fatalf("floor %v (taken %v), want %v", got, taken, tt.floor)
			}
			st = reopen(t, st, path, Options{Now: clk.now})
			if got := st.TrustedTime(); !got.Equal(tt.floor) {
				t.Fatalf("floor after reopen %v, want %v", got, tt.floor)
			}
		})
	}
	// With no floor yet, the device's clock is the only reference.
	clk := newFakeNow(t0)
	st, _ := openTest(t, Options{Now: clk.now})
	if taken, _ := st.ObserveServerTime(year2100); taken || !st.TrustedTime().IsZero() {
		t.Fatalf("no floor: 2100 taken (%v, %v)", taken, st.TrustedTime())
	}
	if taken, _ := st.ObserveServerTime(t0.Add(time.Hour)); !taken {
		t.Fatal("no floor: a server time within a day of the device's clock was not taken")
	}
}

// TestJumpNeedsTwoAgreeingSyncs: a sync beyond the bound is held; a later
// sync whose server time advanced as much as the device's clock confirms
// it; one that disagrees replaces it; a normal sync or an import does not
// confirm it. The held jump survives a restart (kioskd sync, then the daemon).
func TestJumpNeedsTwoAgreeingSyncs(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	jump := t0.Add(30 * 24 * time.Hour) // the kiosk's floor is a month behind the server
	type step struct {
		after   time.Duration // device time since the previous step
		at      time.Time
		source  string
		reopen  bool
		floor   time.Time // want
		pending time.Time // want
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"two agreeing syncs", []step{
			{0, jump, "sync", false, t0, jump},
			{time.Hour, jump.Add(time.Hour), "sync", false, jump.Add(time.Hour), time.Time{}},
		}},
		{"agreeing across a restart", []step{
			{0, jump, "sync", false, t0, jump},
			{10 * time.Minute, jump.Add(12 * time.Minute), "sync", true, jump.Add(12 * time.Minute), time.Time{}},
		}},
		{"disagreeing second sync is held instead", []step{
			{0, jump, "sync", false, t0, jump},
			{time.Hour, year2100, "sync", false, t0, year2100},
			{time.Hour, year2100.Add(time.Hour), "sync", false, year2100.Add(time.Hour), time.Time{}},
		}},
		{"a normal sync clears the held jump", []step{
			{0, year2100, "sync", false, t0, year2100},
			{time.Hour, t0.Add(time.Hour), "sync", false, t0.Add(time.Hour), time.Time{}},
			{time.Hour, year2100.Add(time.Hour), "sync", false, t0.Add(time.Hour), year2100.Add(time.Hour)},
		}},
		{"imports neither hold nor confirm", []step{
			{0, year2100, "import", false, t0, time.Time{}},
			{0, year2100, "sync", false, t0, year2100},
			{time.Minute, year2100.Add(time.Minute), "import", false, t0, year2100},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeNow(t0)
			st, path := openTest(t, Options{Now: clk.now})
			commitAt(t, st, 0, t0, "sync")
			for i, s := range tt.steps {
				clk.add(s.after)
				if s.reopen {
					st = reopen(t, st, path, Options{Now: clk.now})
				}
				commitAt(t, st, i+1, s.at, s.source)
				cs, err := st.ClockState()
				if err != nil {
					t.Fatal(err)
				}
				if !cs.Floor.Equal(s.floor) || !cs.Pending.Equal(s.pending) {
					t.Fatalf("step %d: floor %v pending %v; want %v and %v", i, cs.Floor, cs.Pending, s.floor, s.pending)
				}
				if !cs.LastSync.Equal(s.at) && cs.LastSync.After(cs.Floor.Add(time.Hour)) && cs.LastSync.After(clk.now()) {
					t.Fatalf("step %d: last sync %v, later than the floor %v and the device's clock", i, cs.LastSync, cs.Floor)
				}
			}
		})
	}
}

// TestResetClock: the operator's way out keeps the cache and every
// redemption, and makes a cache stamped in the future age again.
func TestResetClock(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clk := newFakeNow(t0)
	st, path := openTest(t, Options{Now: clk.now})
	commitAt(t, st, 0, t0, "sync")
	// The state an old kioskd left: floor and last sync in 2100, a use stamped then.
	if err := st.ObserveTrustedTime(year2100); err != nil {
		t.Fatal(err)
	}
	if err := st.db.Update(func(tx *bolt.Tx) error {
		putTime(tx.Bucket(bucketMeta), keyLastSync, year2100)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	used := testRecord(0, 1).Hash
	if err := st.Redeem(context.Background(), Redemption{Hash: used, At: year2100, Kiosk: "k"}, Event{Kind: KindVerdict, Accept: true, Reason: "ok", Hash: used}); err != nil {
		t.Fatal(err)
	}
	commitAt(t, st, 1, year2100, "sync") // leaves a held jump too
	r, err := st.ResetClock(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Before.Floor.Equal(year2100) || !r.After.Floor.IsZero() || !r.After.Pending.IsZero() ||
		!r.After.LastSync.Equal(t0) || r.Restamped != 1 {
		t.Fatalf("reset: %+v", r)
	}
	st = reopen(t, st, path, Options{Now: clk.now})
	m, _ := st.Meta()
	if !m.TrustedTime.IsZero() || m.Count != 3 || !m.LastSync.Equal(t0) {
		t.Fatalf("after reopen: %+v", m)
	}
	if rs, ok, err := st.RedemptionState(used); err != nil || !ok || rs.Count != 1 || !rs.LastUse.At.Equal(t0) || !rs.Last.At.Equal(t0) {
		t.Fatalf("the redemption was not kept, restamped at %v: %+v %v %v", t0, rs, ok, err)
	}
	// -to: the operator vouches for a time. A use between it and the device's
	// clock is real and keeps its time.
	recent := testRecord(0, 2).Hash
	if err := st.Redeem(context.Background(), Redemption{Hash: recent, At: t0.Add(-time.Minute), Kiosk: "k"}, Event{Kind: KindVerdict, Accept: true, Reason: "ok", Hash: recent}); err != nil {
		t.Fatal(err)
	}
	to := t0.Add(-time.Hour)
	if r, err = st.ResetClock(to); err != nil || !r.After.Floor.Equal(to) || !st.TrustedTime().Equal(to) || r.Restamped != 0 {
		t.Fatalf("reset to %v: %+v %v", to, r, err)
	}
	if rs, _, _ := st.RedemptionState(recent); !rs.LastUse.At.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("a use before the device's clock was restamped: %+v", rs)
	}
}
