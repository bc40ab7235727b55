package sync

import (
	"context"
	"net/http"
	stdsync "sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// TestFutureDateDoesNotLockTheFloor is issue 15, item 3, at the sync: a
// failed sync whose answer says Date: 2100 must leave the trusted-time floor
// where it was, and a successful one may move it by the bound at most.
func TestFutureDateDoesNotLockTheFloor(t *testing.T) {
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		fault bbtest.Fault
		ok    bool // the sync succeeds
	}{
		{"402 on the pre-fetch", bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: http.StatusPaymentRequired}, false},
		{"500 on the pre-fetch", bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: http.StatusInternalServerError}, false},
		{"401 on the pre-fetch and the renewal", bbtest.Fault{Kind: bbtest.Status, Status: http.StatusUnauthorized}, false},
		{"successful sync", bbtest.Fault{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, bbtest.Options{})
			e.srv.AddCodes(30)
			e.mustSync(t)
			before, _ := e.st.Meta()
			f := tt.fault
			f.Date = future
			e.srv.Inject(f)
			if _, err := e.sync(t); (err == nil) != tt.ok {
				t.Fatalf("sync: %v, want success %v", err, tt.ok)
			}
			after, _ := e.st.Meta()
			limit := before.TrustedTime.Add(store.DefaultClockStep + time.Hour)
			if after.TrustedTime.After(limit) || after.LastSync.After(limit) {
				t.Fatalf("floor %v, last sync %v after the sync; want at most %v", after.TrustedTime, after.LastSync, limit)
			}
			if tt.ok && after.Count != 30 {
				t.Fatalf("the successful sync's cache was not kept: %d codes", after.Count)
			}
		})
	}
}

// recordingCache is a store that refuses server times after its bound.
type recordingCache struct {
	mu    stdsync.Mutex
	bound time.Time
	seen  []time.Time
}

func (c *recordingCache) ObserveServerTime(t time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, t)
	return !t.After(c.bound), nil
}

// TestTrustedTimeAfterARefusedDate: after a Date the store refused (2100),
// the next normal Dates still reach the store; before, the throttle kept the
// greatest Date seen and waited for the server's clock to pass it.
func TestTrustedTimeAfterARefusedDate(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	c := &recordingCache{bound: t0.Add(24 * time.Hour)}
	tt := &TrustedTime{Cache: c}
	for _, at := range []time.Time{t0, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), t0.Add(2 * time.Second), t0.Add(3 * time.Second), t0.Add(2 * time.Minute)} {
		tt.Observe(at)
	}
	if err := tt.Flush(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	want := []time.Time{t0, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), t0.Add(2 * time.Second), t0.Add(2 * time.Minute)}
	if len(c.seen) != len(want) {
		t.Fatalf("store saw %v, want %v", c.seen, want)
	}
	for i := range want {
		if !c.seen[i].Equal(want[i]) {
			t.Fatalf("store saw %v, want %v", c.seen, want)
		}
	}
	if got := tt.Latest(); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("Latest = %v", got)
	}
}

// TestHeldJumpConfirmedBySecondSync: a successful sync saying 2100 is held
// (Result.ClockHeld), a second that agrees is believed, and the scheduler
// runs that second sync within ClockConfirmAfter instead of at the next
// tick of an hourly schedule.
func TestHeldJumpConfirmedBySecondSync(t *testing.T) {
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, bbtest.Options{})
	e.srv.AddCodes(3)
	if r := e.mustSync(t); r.ClockHeld {
		t.Fatal("a normal sync reported its time held")
	}
	e.srv.Inject(bbtest.Fault{Date: future})
	if r := e.mustSync(t); !r.ClockHeld || !e.st.TrustedTime().Before(future) {
		t.Fatalf("first sync dated 2100: held %v, floor %v", r.ClockHeld, e.st.TrustedTime())
	}
	e.srv.ClearFaults()
	e.srv.Inject(bbtest.Fault{Date: future.Add(time.Second)})
	if r := e.mustSync(t); r.ClockHeld || !e.st.TrustedTime().Equal(future.Add(time.Second)) {
		t.Fatalf("second, agreeing sync: held %v, floor %v", r.ClockHeld, e.st.TrustedTime())
	}
}

func TestSchedulerConfirmsAHeldClockSoon(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 2, 30, 0, time.UTC)
	clk := newFakeClock(start)
	results := []Result{{Codes: 7, ClockHeld: true}, {Codes: 7}}
	var mu stdsync.Mutex
	sc := &Scheduler{Schedule: "0 * * * *", Clock: clk, Sync: func(context.Context) (Result, error) {
		mu.Lock()
		defer mu.Unlock()
		r := results[0]
		if len(results) > 1 {
			results = results[1:]
		}
		return r, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	clk.fire(clk.next(t)) // the start-up sync: its time is held
	r := clk.next(t)
	if r.d != ClockConfirmAfter {
		t.Fatalf("after a held clock the next sync is in %v, want %v", r.d, ClockConfirmAfter)
	}
	clk.fire(r) // confirmed: back to the schedule (13:00)
	if r = clk.next(t); r.d != 57*time.Minute+30*time.Second-ClockConfirmAfter {
		t.Fatalf("after the confirmation the next sync is in %v", r.d)
	}
}
