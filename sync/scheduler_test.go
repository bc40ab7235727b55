package sync

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/sync/bitbadges"
)

// scriptedSync returns the queued outcomes in turn and checks that no two
// syncs ever overlap.
type scriptedSync struct {
	mu       stdsync.Mutex
	outcomes []error
	calls    int
	active   atomic.Int32
	overlap  atomic.Bool
	gate     chan struct{} // if set, each sync waits on it
}

func (s *scriptedSync) Sync(ctx context.Context) (Result, error) {
	if s.active.Add(1) > 1 {
		s.overlap.Store(true)
	}
	defer s.active.Add(-1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.outcomes) == 0 {
		return Result{Codes: 7}, nil
	}
	err := s.outcomes[0]
	s.outcomes = s.outcomes[1:]
	return Result{Codes: 7}, err
}

func TestSchedulerLoop(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 2, 30, 0, time.UTC)
	clk := newFakeClock(start)
	rl := &bitbadges.RateLimited{RetryAfter: 7 * time.Minute, Err: &bitbadges.APIError{Status: 429, Kind: bitbadges.ErrRateLimited}}
	credits := fmt.Errorf("pre-fetch: %w", &bitbadges.APIError{Status: 402, Kind: bitbadges.ErrCredits})
	net := errors.New("dial tcp: connection refused")
	ss := &scriptedSync{outcomes: []error{nil, net, net, net, rl, credits, nil}}
	sc := &Scheduler{Sync: ss.Sync, Schedule: "*/5 * * * *", MinBackoff: 30 * time.Second,
		MaxBackoff: 10 * time.Minute, Clock: clk, Rand: func() float64 { return 0 }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()

	// The start-up sync is immediate.
	if r := clk.next(t); r.d != 0 {
		t.Fatalf("start-up sync in %v", r.d)
	} else {
		clk.fire(r)
	}
	// Then the cron schedule: 12:02:30 → 12:05:00.
	want := []time.Duration{
		150 * time.Second, // success → next cron tick
		15 * time.Second,  // 1st failure: 30 s, equal jitter at 0 → 15 s
		30 * time.Second,  // 2nd: 60 s → 30 s
		60 * time.Second,  // 3rd: 120 s → 60 s
		7 * time.Minute,   // 429: Retry-After wins over 240 s → 120 s
		10 * time.Minute,  // 402: the slowest pace
	}
	for i, w := range want {
		r := clk.next(t)
		if r.d != w {
			t.Fatalf("wait %d = %v, want %v (state %+v)", i, r.d, w, sc.State())
		}
		st := sc.State()
		if !st.NextSync.Equal(clk.Now().Add(w)) {
			t.Errorf("NextSync %v, want %v", st.NextSync, clk.Now().Add(w))
		}
		if i == 5 && (st.LastErrorKind != "credits" || st.Failures != 5) {
			t.Errorf("after 402: %+v", st)
		}
		clk.fire(r)
	}
	// Success again resets the failures and returns to the schedule.
	r := clk.next(t)
	st := sc.State()
	if st.Failures != 0 || st.LastError != "" || st.LastResult.Codes != 7 {
		t.Errorf("after recovery: %+v", st)
	}
	if got := clk.Now().Add(r.d); got.Minute()%5 != 0 || got.Second() != 0 {
		t.Errorf("not back on the schedule: next at %v", got)
	}
	// A manual trigger syncs at once.
	if err := sc.SyncNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ss.calls != 8 {
		t.Errorf("%d syncs, want 8", ss.calls)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSchedulerNeverOverlaps(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	ss := &scriptedSync{gate: make(chan struct{})}
	sc := &Scheduler{Sync: ss.Sync, Clock: clk}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	clk.fire(clk.next(t)) // start-up sync begins and blocks on the gate
	// Wait until it has: a trigger already waiting when the loop selects
	// would be taken instead of the fired timer, and the start-up sync
	// would then be one of the manual ones (three syncs, not four).
	for deadline := time.Now().Add(10 * time.Second); ss.active.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the start-up sync never began")
		}
		time.Sleep(time.Millisecond) // no event to wait on: Sync is the test's own
	}
	var wg stdsync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := sc.SyncNow(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	for i := range 4 {
		select {
		case ss.gate <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatalf("sync %d never began (%d ran)", i+1, i)
		}
	}
	wg.Wait()
	if ss.overlap.Load() {
		t.Fatal("two syncs ran at once")
	}
	if ss.calls != 4 {
		t.Fatalf("%d syncs", ss.calls)
	}
	cancel()
	<-done
}

// A spec cron parses but that names no real time must not become a loop
// syncing back to back (cron's next time is then the zero time).
func TestSchedulerScheduleThatNeverFires(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	ss := &scriptedSync{}
	sc := &Scheduler{Sync: ss.Sync, Schedule: "0 0 30 2 *", Clock: clk}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	for {
		select {
		case err := <-done:
			if !errors.Is(err, ErrScheduleNeverFires) {
				t.Fatalf("Run = %v, want ErrScheduleNeverFires", err)
			}
			return
		case r := <-clk.timers:
			ss.mu.Lock()
			n := ss.calls
			ss.mu.Unlock()
			if n >= 3 {
				t.Fatalf("%d syncs back to back; next wait %v", n, r.d)
			}
			r.ch <- clk.Now()
		case <-time.After(10 * time.Second):
			t.Fatal("Run neither failed nor asked for a timer")
		}
	}
}

func TestSchedulerBadSpec(t *testing.T) {
	sc := &Scheduler{Sync: (&scriptedSync{}).Sync, Schedule: "every tuesday"}
	if err := sc.Run(context.Background()); err == nil {
		t.Fatal("bad schedule accepted")
	}
}

func TestBackoff(t *testing.T) {
	b := backoffPolicy(time.Second, time.Minute, nil)
	for n := 1; n < 40; n++ {
		d := b.Delay(n)
		cap := min(time.Second<<min(n-1, 20), time.Minute)
		if d < cap/2 || d > cap {
			t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, cap/2, cap)
		}
	}
}
