package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// The fault suite of issue 17: servers that never end the list, go round in
// a circle, repeat pages or send codes in upper case. `go test -run Fault`
// runs them; KIOSKD_FAULT_LONG=1 runs the long variants (more pages, longer
// cycles, the automatic bounds).

func faultLong() bool { return !testing.Short() && os.Getenv("KIOSKD_FAULT_LONG") == "1" }

// script points the env's client at a scripted pre-fetch in front of its
// stand-in, through the bounds' transport as New wires it.
func (e *env) script(t *testing.T, fn bbtest.PageFunc) {
	t.Helper()
	sc := e.srv.Script(fn)
	t.Cleanup(sc.Close)
	e.client.APIURL = sc.URL()
	e.client.HTTP = &http.Client{Transport: GuardTransport(nil)}
}

// records makes n scripted records, codes from..from+n-1.
func records(from, n int) []bbtest.Record {
	out := make([]bbtest.Record, n)
	for i := range out {
		out[i] = bbtest.Record{Code: bbtest.Code(from + i)}
	}
	return out
}

// seed fills the serving cache with n codes through a normal sync.
func (e *env) seed(t *testing.T, n int) {
	t.Helper()
	e.srv.ClearFaults()
	for i := 0; i < n; i++ {
		e.srv.AddCode(bbtest.Code(1_000_000+i), "seed")
	}
	e.mustSync(t)
	if got := e.count(t); got != n {
		t.Fatalf("seeded %d codes, cache has %d", n, got)
	}
}

// TestFaultEndlessBookmarks: a server that hands out a fresh bookmark (and
// fresh codes) on every page is stopped by the page bound, or by the time
// bound when its pages are slow; the old cache keeps serving, and the sync
// is not resumed (a resumption would be endless again).
func TestFaultEndlessBookmarks(t *testing.T) {
	pages := 60
	if faultLong() {
		pages = 0 // auto: 3× the seeded sync's page + 1,000
	}
	tests := []struct {
		name      string
		maxPages  int
		maxDur    time.Duration
		pageDelay time.Duration
		wantPages int // the bound, in pages; 0 = the time bound
	}{
		{name: "page bound", maxPages: pages, maxDur: time.Minute, wantPages: max(pages, 3*1+PagesMargin*btoi(pages == 0))},
		{name: "time bound", maxPages: 1_000_000, maxDur: 300 * time.Millisecond, pageDelay: 5 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, bbtest.Options{})
			e.seed(t, 10)
			var served atomic.Int64
			e.script(t, func(bookmark string) ([]bbtest.Record, string, bool) {
				n := int(served.Add(1))
				time.Sleep(tc.pageDelay)
				return records(n*25, 25), fmt.Sprintf("bm-%d", n), true
			})
			e.syncer.MaxPages, e.syncer.MaxDuration = tc.maxPages, tc.maxDur
			start := time.Now()
			_, err := e.sync(t)
			took := time.Since(start)
			if !errors.Is(err, ErrSyncBound) {
				t.Fatalf("endless pre-fetch ended with %v after %d pages, %v", err, served.Load(), took)
			}
			if tc.wantPages > 0 && int(served.Load()) != tc.wantPages {
				t.Errorf("served %d pages, want the bound %d", served.Load(), tc.wantPages)
			}
			if tc.wantPages == 0 && took > tc.maxDur+5*time.Second {
				t.Errorf("took %v with a %v bound", took, tc.maxDur)
			}
			if e.count(t) != 10 || !e.cached(t, bbtest.Code(1_000_000)) {
				t.Fatal("the bounded pre-fetch touched the serving cache")
			}
			if e.syncer.partial != nil {
				t.Fatal("a bounded pre-fetch is kept for resumption")
			}
			if p := e.syncer.Progress(); p.Running {
				t.Fatalf("still syncing after the sync returned: %+v", p)
			}
			t.Logf("%d pages in %v: %v", served.Load(), took, err)
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFaultBookmarkCycle: bookmarks going round a circle longer than the
// client's memory of bookmarks are caught on the first repeat.
func TestFaultBookmarkCycle(t *testing.T) {
	cycles := []int{2, 100}
	if faultLong() {
		cycles = append(cycles, 1000)
	}
	for _, n := range cycles {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t, bbtest.Options{})
			e.seed(t, 10)
			var served atomic.Int64
			e.script(t, func(bookmark string) ([]bbtest.Record, string, bool) {
				served.Add(1)
				i := 0
				if bookmark != "" {
					fmt.Sscanf(bookmark, "cycle-%d", &i)
				}
				return records(i*25, 25), fmt.Sprintf("cycle-%d", (i+1)%n), true
			})
			e.syncer.MaxPages = 100_000 // the cycle, not the bound, must stop it
			_, err := e.sync(t)
			if !errors.Is(err, ErrBookmarkCycle) && !(n < 64 && err != nil) {
				t.Fatalf("a %d-bookmark cycle ended with %v after %d pages", n, err, served.Load())
			}
			if got := served.Load(); got > int64(n)+1 {
				t.Errorf("%d pages served for a cycle of %d", got, n)
			}
			if e.count(t) != 10 || e.syncer.partial != nil {
				t.Fatal("the cycling pre-fetch touched the cache or was kept for resumption")
			}
		})
	}
}

// TestFaultDuplicatePages: pages 2-9 repeating page 1 make a cache of 25
// codes, and the result says so; over a large cache that shrink is held back.
func TestFaultDuplicatePages(t *testing.T) {
	dup := func(bookmark string) ([]bbtest.Record, string, bool) {
		n := 0
		if bookmark != "" {
			fmt.Sscanf(bookmark, "dup-%d", &n)
		}
		return records(0, 25), fmt.Sprintf("dup-%d", n+1), n+1 < 9
	}
	t.Run("first sync", func(t *testing.T) {
		e := newEnv(t, bbtest.Options{})
		e.script(t, dup)
		r := e.mustSync(t)
		if r.Codes != 25 || r.Records != 225 || r.Duplicates != 200 || r.Pages != 9 || e.count(t) != 25 {
			t.Fatalf("result %+v, cache %d: want 25 codes of 225 records, 200 duplicates", r, e.count(t))
		}
		if !strings.Contains(e.logs.String(), "repeated records") {
			t.Error("the duplicates were not logged")
		}
	})
	t.Run("over 300 codes", func(t *testing.T) {
		e := newEnv(t, bbtest.Options{})
		e.seed(t, 300)
		e.script(t, dup)
		r, err := e.sync(t)
		if !errors.Is(err, ErrHeldBack) || r.Codes != 25 || r.Duplicates != 200 {
			t.Fatalf("got %+v, %v; want 25 codes held back", r, err)
		}
		if e.count(t) != 300 {
			t.Fatalf("cache %d, want the old 300", e.count(t))
		}
		if hb := e.syncer.HeldBack(); hb == nil || hb.Codes != 25 || hb.Cached != 300 || hb.Duplicates != 200 {
			t.Fatalf("held back %+v", hb)
		}
	})
}

// TestFaultUppercaseCodes: a code sent in upper case is kept under the hash
// of its lower-case text, which is what a scan of it looks up, whether its
// _docId is absent or the hash of the upper-case text.
func TestFaultUppercaseCodes(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	lowerA, lowerB, lowerC, plain := bbtest.Code(1), bbtest.Code(2), bbtest.Code(4), bbtest.Code(3)
	e.srv.Add(bbtest.Record{Code: strings.ToUpper(lowerA)})                  // _docId = sha256(upper)
	e.srv.Add(bbtest.Record{Code: strings.ToUpper(lowerB), OmitCode: false}) // same, second one
	// The code in upper case, its _docId the hash of the lower-case text.
	e.srv.Add(bbtest.Record{Code: strings.ToUpper(lowerC), DocID: bitbadges.HashCode(lowerC)})
	e.srv.AddCode(plain, "plain")
	r := e.mustSync(t)
	if r.Normalised != 3 || r.Codes != 4 || r.Malformed != 0 {
		t.Fatalf("result %+v", r)
	}
	for _, c := range []string{lowerA, lowerB, lowerC, plain} {
		if !e.cached(t, c) {
			t.Errorf("code %.8s… cannot match a scan", c)
		}
	}
	if strings.Contains(e.logs.String(), strings.ToUpper(lowerA)) || strings.Contains(e.logs.String(), lowerA) {
		t.Fatal("a code was logged")
	}
}

// TestFaultHeldBackSnapshot (issue 15.4): a complete pre-fetch that would
// empty the cache, or drop more than half of a cache of 100 codes or more,
// is held back: the old cache serves, status says so, and it is applied only
// when the operator says so.
func TestFaultHeldBackSnapshot(t *testing.T) {
	tests := []struct {
		name     string
		cached   int
		answer   int
		policy   HoldBackPolicy
		apply    bool
		wantHeld bool
	}{
		{name: "300 to 0", cached: 300, answer: 0, wantHeld: true},
		{name: "300 to 20", cached: 300, answer: 20, wantHeld: true},
		{name: "300 to 150", cached: 300, answer: 150},
		{name: "300 to 149", cached: 300, answer: 149, wantHeld: true},
		{name: "30 to 0", cached: 30, answer: 0, wantHeld: true},
		{name: "30 to 2", cached: 30, answer: 2},
		{name: "300 to 20 applied", cached: 300, answer: 20, apply: true},
		{name: "300 to 0 applied", cached: 300, answer: 0, apply: true},
		{name: "300 to 0, guard off", cached: 300, answer: 0, policy: HoldBackPolicy{MaxDrop: 1}},
		{name: "300 to 200, max drop 0.2", cached: 300, answer: 200, policy: HoldBackPolicy{MaxDrop: 0.2}, wantHeld: true},
		{name: "60 to 20, min codes 50", cached: 60, answer: 20, policy: HoldBackPolicy{MinCodes: 50}, wantHeld: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, bbtest.Options{})
			e.seed(t, tc.cached)
			e.syncer.HoldBack = tc.policy
			e.script(t, func(string) ([]bbtest.Record, string, bool) {
				return records(0, tc.answer), "", false
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			r, err := e.syncer.SyncWith(ctx, SyncOptions{ApplyHeldBack: tc.apply})
			if r.Codes != tc.answer {
				t.Errorf("result %d codes, want %d", r.Codes, tc.answer)
			}
			if !tc.wantHeld {
				if err != nil || e.count(t) != tc.answer || e.syncer.HeldBack() != nil {
					t.Fatalf("err %v, cache %d, held back %+v: want the %d codes applied", err, e.count(t), e.syncer.HeldBack(), tc.answer)
				}
				return
			}
			if !errors.Is(err, ErrHeldBack) || ErrorKind(err) != "held-back" {
				t.Fatalf("err %v: want held back", err)
			}
			if !strings.Contains(err.Error(), "-apply-held-back") {
				t.Errorf("the error does not say how to apply it: %v", err)
			}
			if e.count(t) != tc.cached || !e.cached(t, bbtest.Code(1_000_000)) {
				t.Fatalf("cache %d, want the old %d serving", e.count(t), tc.cached)
			}
			if hb := e.syncer.HeldBack(); hb == nil || hb.Codes != tc.answer || hb.Cached != tc.cached || hb.At.IsZero() {
				t.Fatalf("held back %+v", hb)
			}
			// The operator's word applies it, and the held-back state clears.
			if _, err := e.syncer.SyncWith(ctx, SyncOptions{ApplyHeldBack: true}); err != nil {
				t.Fatal(err)
			}
			if e.count(t) != tc.answer || e.syncer.HeldBack() != nil {
				t.Fatalf("after apply: cache %d, held back %+v", e.count(t), e.syncer.HeldBack())
			}
		})
	}
}

// TestFaultSyncingStatus: while a pre-fetch runs, the service's status says
// since when and at which page, and next_sync is never zero; a held-back
// snapshot shows, and the scheduler does not back off from it.
func TestFaultSyncingStatus(t *testing.T) {
	srv := bbtest.NewServer(bbtest.Options{ClientID: "venue-app", APIKey: secretKey,
		ClientSecret: secretClient, RefreshToken: secretRefresh})
	defer srv.Close()
	release := make(chan struct{})
	var relOnce stdsync.Once
	free := func() { relOnce.Do(func() { close(release) }) }
	defer free()
	mode := atomic.Int32{} // 0: 3 pages, blocking on the third; 1: empty
	sc := srv.Script(func(bookmark string) ([]bbtest.Record, string, bool) {
		if mode.Load() == 1 {
			return nil, "", false
		}
		switch bookmark {
		case "":
			return records(0, 25), "p2", true
		case "p2":
			return records(25, 25), "p3", true
		}
		<-release
		return records(50, 10), "p4", false
	})
	defer sc.Close()
	s := testServiceAt(t, sc.URL())
	if s.Status().NextSync.IsZero() {
		t.Fatal("next_sync is zero before the scheduler ran")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		free()
		<-done
	}()
	st := waitStatus(t, s, "syncing at page 3", func(st Status) bool { return st.Syncing && st.SyncPages == 3 })
	if st.SyncingSince.IsZero() || st.NextSync.IsZero() || st.SyncRecords < 50 {
		t.Fatalf("status while syncing: %+v", st)
	}
	free()
	st = waitStatus(t, s, "synced", func(st Status) bool { return !st.Syncing && st.Codes == 60 })
	if st.NextSync.IsZero() || st.SyncPages != 0 || st.HeldBack != nil {
		t.Fatalf("status after the sync: %+v", st)
	}
	// An empty answer is held back, shown, and the next try is the regular one.
	mode.Store(1)
	if err := s.Scheduler.SyncNow(ctx); !errors.Is(err, ErrHeldBack) {
		t.Fatalf("SyncNow: %v", err)
	}
	st = s.Status()
	if st.HeldBack == nil || st.HeldBack.Codes != 0 || st.HeldBack.Cached != 60 || st.Codes != 60 || st.LastErrorKind != "held-back" {
		t.Fatalf("status after a held-back sync: %+v", st)
	}
	if d := time.Until(st.NextSync); d < 50*time.Minute {
		t.Errorf("next sync in %v after a held-back snapshot, want the regular hour", d)
	}
}

func waitStatus(t *testing.T, s *Service, what string, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := s.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s; status %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFaultSchedulerNextSyncWhileRunning: the scheduler's state names the
// next regular slot while a sync runs.
func TestFaultSchedulerNextSyncWhileRunning(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 11, 23, 12, 1, 0, 0, time.UTC))
	running := make(chan struct{})
	release := make(chan struct{})
	sc := &Scheduler{Clock: clk, Schedule: "*/5 * * * *", Sync: func(ctx context.Context) (Result, error) {
		close(running)
		<-release
		return Result{}, nil
	}}
	sched, _ := cron.ParseStandard("*/5 * * * *")
	done := make(chan error, 1)
	go func() { done <- sc.runOnce(context.Background(), sched) }()
	<-running
	if st := sc.State(); !st.Running || !st.NextSync.Equal(time.Date(2026, 11, 23, 12, 5, 0, 0, time.UTC)) {
		t.Fatalf("state while running: %+v", st)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestBoundsAuto: the automatic bounds grow with the last complete sync.
func TestBoundsAuto(t *testing.T) {
	tests := []struct {
		name   string
		last   lastGood
		cached int
		cfg    [2]int64
		want   bounds
	}{
		{name: "first sync", want: bounds{pages: FirstSyncMaxPages, duration: FirstSyncMaxDuration}},
		{name: "from the cache size", cached: 100_000, want: bounds{pages: 3*4000 + PagesMargin, duration: FirstSyncMaxDuration}},
		{name: "from the last sync", last: lastGood{Pages: 10, Duration: time.Second}, cached: 5,
			want: bounds{pages: 30 + PagesMargin, duration: 3*time.Second + DurationMargin}},
		{name: "configured", cfg: [2]int64{50, int64(time.Minute)}, last: lastGood{Pages: 10},
			want: bounds{pages: 50, duration: time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Syncer{MaxPages: int(tc.cfg[0]), MaxDuration: time.Duration(tc.cfg[1]), lastGood: tc.last}
			if got := s.bounds(tc.cached); got.pages != tc.want.pages || got.duration != tc.want.duration {
				t.Fatalf("bounds %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestGuardBookmarkOfPOST: the older POST forms carry the bookmark in the body.
func TestGuardBookmarkOfPOST(t *testing.T) {
	e := newEnv(t, bbtest.Options{DisableGET: true})
	e.srv.AddCodes(60)
	e.client.HTTP = &http.Client{Transport: GuardTransport(nil)}
	e.syncer.MaxPages = 2
	if _, err := e.sync(t); !errors.Is(err, ErrSyncBound) {
		t.Fatalf("3 pages over POST with a bound of 2: %v", err)
	}
	e.syncer.MaxPages = 3
	if r := e.mustSync(t); r.Codes != 59 {
		t.Fatalf("%+v", r)
	}
}

// testServiceAt is a Service as New wires it, its API at url.
func testServiceAt(t *testing.T, url string) *Service {
	t.Helper()
	// As kioskd's config gives it: sync_schedule "@every 1h", the defaults
	// otherwise.
	cfg := Config{APIURL: url, ClientID: "venue-app", APIKey: secretKey, ClientSecret: secretClient,
		RefreshToken:   func() (string, error) { return secretRefresh, nil },
		RequestTimeout: 30 * time.Second, Schedule: "@every 1h", MaxBackoff: 10 * time.Minute,
		HoldBack: HoldBackPolicy{MaxDrop: 0.5, MinCodes: 100}, ExchangeBudget: 1500 * time.Millisecond}
	st, err := store.Open(filepath.Join(t.TempDir(), "kioskd.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(cfg, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
