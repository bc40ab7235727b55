package sync

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

func TestSyncFillsCache(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	codes := e.srv.AddCodes(130)
	r := e.mustSync(t)
	if r.Codes != len(codes) || e.count(t) != len(codes) || r.Deleted != 130/50 || !r.Renewed {
		t.Fatalf("result %+v, cache %d, want %d codes", r, e.count(t), len(codes))
	}
	for _, c := range codes {
		if !e.cached(t, c) {
			t.Fatal("a code is missing from the cache")
		}
	}
	// A deleted or rotated code vanishes from the next cache.
	e.srv.Delete(codes[0])
	e.srv.Remove(codes[1])
	e.mustSync(t)
	if e.cached(t, codes[0]) || e.cached(t, codes[1]) || !e.cached(t, codes[2]) {
		t.Fatal("the new pre-fetch did not replace the cache")
	}
	tok, _ := e.st.RefreshToken()
	if tok != e.srv.RefreshToken() {
		t.Fatal("the store does not hold the current refresh token")
	}
	if e.srv.Counts().Refreshes != 1 {
		t.Errorf("refreshed %d times, want once (the access token is reused)", e.srv.Counts().Refreshes)
	}
	m, _ := e.st.Meta()
	if m.TrustedTime.IsZero() || m.LastSync.IsZero() {
		t.Errorf("trusted time / last sync not recorded: %+v", m)
	}
}

// TestFaultMatrix: every failure keeps the old cache serving, is classified,
// and schedules the next attempt sensibly; the sync after it succeeds.
func TestFaultMatrix(t *testing.T) {
	const (
		minB = 30 * time.Second
		maxB = 10 * time.Minute
	)
	type fault struct {
		name   string
		apply  func(e *env) (undo func())
		kind   string
		lo, hi time.Duration // the next attempt's delay after one failure
	}
	status := func(code int, retryAfter string) func(e *env) func() {
		return func(e *env) func() {
			e.srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, After: 1, Kind: bbtest.Status, Status: code, RetryAfter: retryAfter})
			return e.srv.ClearFaults
		}
	}
	kind := func(k bbtest.FaultKind, delay time.Duration) func(e *env) func() {
		return func(e *env) func() {
			// Long enough to read 4 MiB on a loaded machine under -race,
			// short enough for hangs and drips to time out.
			e.client.RequestTimeout = 300 * time.Millisecond
			if k == bbtest.Huge {
				e.client.RequestTimeout = 20 * time.Second
			}
			e.srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, After: 1, Kind: k, Delay: delay})
			return e.srv.ClearFaults
		}
	}
	for _, tc := range []fault{
		{name: "connection refused", kind: "network", lo: minB / 2, hi: minB, apply: func(e *env) func() {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				panic(err)
			}
			dead := "http://" + l.Addr().String() + "/api/v0"
			l.Close()
			good := e.client.APIURL
			e.client.APIURL = dead
			return func() { e.client.APIURL = good }
		}},
		{name: "timeout", kind: "timeout", lo: minB / 2, hi: minB, apply: kind(bbtest.Hang, 0)},
		{name: "slow drip", kind: "timeout", lo: minB / 2, hi: minB, apply: kind(bbtest.Drip, 2*time.Millisecond)},
		{name: "5xx mid-pagination", kind: "server", lo: minB / 2, hi: minB, apply: status(502, "")},
		{name: "429 with Retry-After", kind: "rate-limited", lo: 5 * time.Minute, hi: 5 * time.Minute, apply: status(429, "300")},
		{name: "503 with Retry-After", kind: "server", lo: 2 * time.Minute, hi: 2 * time.Minute, apply: status(503, "120")},
		{name: "429 short Retry-After", kind: "rate-limited", lo: minB / 2, hi: minB, apply: status(429, "1")},
		{name: "401 after renewal", kind: "unauthorized", lo: maxB, hi: maxB, apply: status(401, "")},
		{name: "402", kind: "credits", lo: maxB, hi: maxB, apply: func(e *env) func() {
			e.srv.SetCredits(0)
			return func() { e.srv.SetCredits(-1) }
		}},
		{name: "truncated JSON", kind: "network", lo: minB / 2, hi: minB, apply: kind(bbtest.Truncate, 0)},
		{name: "malformed JSON", kind: "malformed", lo: minB / 2, hi: minB, apply: kind(bbtest.Malformed, 0)},
		{name: "page without pagination", kind: "malformed", lo: minB / 2, hi: minB, apply: kind(bbtest.WrongShape, 0)},
		{name: "enormous body", kind: "too-large", lo: minB / 2, hi: minB, apply: kind(bbtest.Huge, 0)},
		{name: "revoked refresh token", kind: "unauthorized", lo: maxB, hi: maxB, apply: func(e *env) func() {
			e.srv.ExpireAccessTokens()
			good := e.srv.RefreshToken()
			e.srv.RevokeRefreshToken()
			return func() { e.srv = restoreRefresh(e, good) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, bbtest.Options{})
			old := e.srv.AddCodes(60)
			e.mustSync(t)
			before := e.count(t)
			metaBefore, _ := e.st.Meta()
			added := e.srv.AddCodes(40)

			undo := tc.apply(e)
			start := time.Now()
			_, err := e.sync(t)
			if err == nil {
				t.Fatal("the sync succeeded despite the fault")
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("the failing sync took %v", time.Since(start))
			}
			if got := ErrorKind(err); got != tc.kind {
				t.Errorf("ErrorKind = %q, want %q (err: %v)", got, tc.kind, err)
			}
			// The old cache is intact and serving.
			if e.count(t) != before || !e.cached(t, old[0]) || !e.cached(t, old[len(old)-1]) || e.cached(t, added[0]) {
				t.Fatal("the failed sync changed the serving cache")
			}
			if m, _ := e.st.Meta(); !m.LastSync.Equal(metaBefore.LastSync) {
				t.Fatal("last sync moved on a failure")
			}
			// The next attempt is scheduled sensibly.
			sc := &Scheduler{MinBackoff: minB, MaxBackoff: maxB, Rand: func() float64 { return 0.999999 }}
			sc.state.Failures = 1
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			hi := sc.plan(now, err, cron.Every(5*time.Minute)).Sub(now)
			sc.Rand = func() float64 { return 0 }
			lo := sc.plan(now, err, cron.Every(5*time.Minute)).Sub(now)
			if lo < tc.lo || hi > tc.hi+time.Second {
				t.Errorf("next attempt in [%v, %v], want within [%v, %v]", lo, hi, tc.lo, tc.hi)
			}
			// And once the fault is gone, the next sync catches up.
			undo()
			e.client.RequestTimeout = 0
			e.mustSync(t)
			if !e.cached(t, added[0]) || e.count(t) != len(old)+len(added) {
				t.Fatal("the sync after the fault did not catch up")
			}
		})
	}
}

// restoreRefresh rebuilds the env's state after a revoked refresh token:
// the venue re-authorised, the new token is in refresh_token_file.
func restoreRefresh(e *env, _ string) *bbtest.Server {
	fresh := e.srv.RefreshToken() // the server's current (revoked-) value is the valid one
	e.syncer.InitialRefreshToken = func() (string, error) { return fresh, nil }
	return e.srv
}

func TestRenewalOn401(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	codes := e.srv.AddCodes(30)
	e.mustSync(t)
	e.srv.ExpireAccessTokens()
	e.srv.AddCodes(5)
	r := e.mustSync(t)
	if !r.Renewed || e.srv.Counts().Refreshes != 2 {
		t.Fatalf("renewed=%v, refreshes=%d", r.Renewed, e.srv.Counts().Refreshes)
	}
	if e.count(t) != len(codes)+5 {
		t.Fatalf("count %d", e.count(t))
	}
	tok, _ := e.st.RefreshToken()
	if tok != e.srv.RefreshToken() {
		t.Fatal("rotated refresh token not persisted")
	}
}

// orderCache records whether the refresh token was persisted before the
// server saw the access token in use.
type orderCache struct {
	Cache
	srv            *bbtest.Server
	pagesAtPersist []int
	failSet        bool
}

func (c *orderCache) SetRefreshToken(tok string) error {
	n := c.srv.Counts()
	c.pagesAtPersist = append(c.pagesAtPersist, n.PrefetchGET+n.PrefetchPOST)
	if c.failSet {
		return errors.New("disk full")
	}
	return c.Cache.SetRefreshToken(tok)
}

func TestRefreshTokenPersistedBeforeUse(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	e.srv.AddCodes(10)
	oc := &orderCache{Cache: e.syncer.Cache, srv: e.srv, failSet: true}
	e.syncer.Cache = oc
	if _, err := e.sync(t); err == nil || !strings.Contains(err.Error(), "keeping the rotated refresh token") ||
		!strings.Contains(err.Error(), "re-authorise") {
		t.Fatalf("sync with an unwritable store: %v", err)
	}
	if n := e.srv.Counts(); n.PrefetchGET+n.PrefetchPOST != 0 {
		t.Fatal("the access token was used although its refresh token was not kept")
	}
	// The store recovers: the unpersisted token (the only valid one) is used.
	oc.failSet = false
	e.mustSync(t)
	if len(oc.pagesAtPersist) != 2 || oc.pagesAtPersist[1] != 0 {
		t.Fatalf("persisted at page counts %v", oc.pagesAtPersist)
	}
	tok, _ := e.st.RefreshToken()
	if tok != e.srv.RefreshToken() {
		t.Fatal("store does not hold the current refresh token")
	}
}

func TestRefreshTokenSources(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	e.srv.AddCodes(3)
	// No token anywhere.
	e.syncer.InitialRefreshToken = func() (string, error) { return "", nil }
	if _, err := e.sync(t); !errors.Is(err, ErrNoRefreshToken) || ErrorKind(err) != "no-refresh-token" {
		t.Fatalf("no token: %v", err)
	}
	// A stale stored token and a fresh file: the file's token is tried next.
	if err := e.st.SetRefreshToken("stale-token-from-last-year"); err != nil {
		t.Fatal(err)
	}
	cur := e.srv.RefreshToken()
	e.syncer.InitialRefreshToken = func() (string, error) { return cur, nil }
	e.mustSync(t)
	tok, _ := e.st.RefreshToken()
	if tok != e.srv.RefreshToken() || tok == cur {
		t.Fatal("the rotated token from the file's token was not kept")
	}
}

func TestMalformedGuard(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	codes := e.srv.AddCodes(20)
	e.mustSync(t)
	// A record whose docId does not match its code is malformed. Make
	// many: the schema changed, keep the old cache.
	for i := 0; i < 10; i++ {
		e.srv.Add(bbtest.Record{Code: strings.Repeat("z", 64)[:63] + string(rune('a'+i))})
	}
	_, err := e.sync(t)
	if !errors.Is(err, bitbadges.ErrMalformed) {
		t.Fatalf("want the malformed guard, got %v", err)
	}
	if e.count(t) != len(codes) {
		t.Fatal("cache changed")
	}
	// One in many is skipped and logged.
	e.srv.AddCodes(200)
	r := e.mustSync(t)
	if r.Malformed != 10 {
		t.Fatalf("malformed %d", r.Malformed)
	}
	if !strings.Contains(e.logs.String(), "skipping malformed record") {
		t.Error("malformed record not logged")
	}
}

func TestSyncCanceled(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	e.srv.AddCodes(50)
	e.mustSync(t)
	e.srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, After: 1, Kind: bbtest.Hang})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := e.syncer.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if e.count(t) != 49 {
		t.Fatal("cache changed")
	}
	// The store accepts a new snapshot: the aborted one was released.
	e.srv.ClearFaults()
	e.mustSync(t)
}

func TestExchanger(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	code := strings.Repeat("5e", 32)
	e.srv.Add(bbtest.Record{Code: code, Address: "0xfeed", Chain: "ETH"})
	x := &Exchanger{Client: e.client, Budget: 200 * time.Millisecond, Logger: e.syncer.Logger}
	rec, err := x.Exchange(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	if rec != (store.Record{Hash: store.HashCode(code), Address: "0xfeed", Chain: "ETH"}) {
		t.Fatalf("record %+v", rec)
	}
	if _, err := x.Exchange(context.Background(), code); err == nil {
		t.Fatal("a consumed code exchanged twice")
	}
	// Past the budget the caller gets an error, quickly.
	code2 := strings.Repeat("6f", 32)
	e.srv.AddCode(code2, "x")
	e.srv.Inject(bbtest.Fault{Route: bbtest.RouteToken, Kind: bbtest.Hang})
	start := time.Now()
	_, err = x.Exchange(context.Background(), code2)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung exchange: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("exchange took %v with a 200ms budget", el)
	}
	// A caller's shorter deadline wins over a long budget.
	x.Budget = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := x.Exchange(ctx, code2); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("caller's deadline ignored: %v after %v", err, time.Since(start))
	}
	if strings.Contains(e.logs.String(), code) || strings.Contains(e.logs.String(), code2) {
		t.Fatal("a code was logged")
	}
}

func TestResumeInterruptedPrefetch(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	clk := newFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	e.syncer.Clock = clk
	old := e.srv.AddCodes(10)
	e.mustSync(t)
	codes := e.srv.AddCodes(200) // 210 records: 9 pages, the last one 10 long
	base := e.srv.Counts().Pages

	// Page 5 fails: 4 pages were read, the snapshot stays open.
	e.srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, After: 4, Times: 1, Kind: bbtest.Status, Status: 502})
	if _, err := e.sync(t); err == nil || !strings.Contains(err.Error(), "resumes") {
		t.Fatalf("want a resumable failure, got %v", err)
	}
	if e.count(t) != 10 || !e.cached(t, old[0]) || e.cached(t, codes[0]) {
		t.Fatal("the interrupted pre-fetch touched the serving cache")
	}
	if got := e.srv.Counts().Pages - base; got != 4 {
		t.Fatalf("%d pages before the failure", got)
	}
	// The next attempt reads pages 5 to 9 only.
	r := e.mustSync(t)
	if got := e.srv.Counts().Pages - base; got != 9 {
		t.Fatalf("%d pages in all, want 9 (resumed, not restarted)", got)
	}
	want := len(codes) + len(old)
	if r.Codes != want || e.count(t) != want || r.Pages != 9 {
		t.Fatalf("result %+v, cache %d, want %d codes", r, e.count(t), want)
	}

	// Past ResumeWithin an interrupted pre-fetch starts over.
	base = e.srv.Counts().Pages
	e.srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, After: 4, Times: 1, Kind: bbtest.Status, Status: 502})
	if _, err := e.sync(t); err == nil {
		t.Fatal("no failure")
	}
	clk.advance(DefaultResumeWithin + time.Minute)
	e.mustSync(t)
	if got := e.srv.Counts().Pages - base; got != 4+9 {
		t.Fatalf("%d pages, want 13 (restarted)", got)
	}
	// Close releases a held snapshot.
	e.srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, After: 2, Times: 1, Kind: bbtest.Truncate})
	if _, err := e.sync(t); err == nil || e.syncer.partial == nil {
		t.Fatalf("want a held partial pre-fetch, got %v", err)
	}
	e.syncer.Close()
	if sn, err := e.st.NewSnapshot(); err != nil {
		t.Fatalf("the held snapshot was not released: %v", err)
	} else {
		_ = sn.Abort()
	}
	// A store failure is never resumed: the snapshot is aborted.
	e.syncer.Cache = failingCache{Cache: e.syncer.Cache, after: 60}
	_, err := e.sync(t)
	if ErrorKind(err) != "store" || e.syncer.partial != nil {
		t.Fatalf("store failure: kind %q, partial held %v (%v)", ErrorKind(err), e.syncer.partial != nil, err)
	}
	if e.count(t) != want {
		t.Fatal("cache changed")
	}
}

// failingCache's snapshots fail after a number of Puts (a full disk).
type failingCache struct {
	Cache
	after int
}

func (c failingCache) NewSnapshot() (Snapshot, error) {
	sn, err := c.Cache.NewSnapshot()
	if err != nil {
		return nil, err
	}
	return &failingSnap{Snapshot: sn, left: c.after}, nil
}

type failingSnap struct {
	Snapshot
	left int
}

func (f *failingSnap) Put(r store.Record) error {
	if f.left--; f.left < 0 {
		return errors.New("no space left on device")
	}
	return f.Snapshot.Put(r)
}
