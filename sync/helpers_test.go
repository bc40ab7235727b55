package sync

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	stdsync "sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// fakeClock lets a test drive the loops' timers by hand.
type fakeClock struct {
	mu     stdsync.Mutex
	now    time.Time
	timers chan timerReq
}

type timerReq struct {
	d  time.Duration
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, timers: make(chan timerReq, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	ch := make(chan time.Time, 1)
	c.timers <- timerReq{d, ch}
	return ch, func() {}
}

func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// next waits for the loop to ask for a timer.
func (c *fakeClock) next(t *testing.T) timerReq {
	t.Helper()
	select {
	case r := <-c.timers:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the loop asked for no timer")
		return timerReq{}
	}
}

// fire advances the clock by the timer's duration and fires it.
func (c *fakeClock) fire(r timerReq) {
	r.ch <- c.advance(r.d)
}

// env is a stand-in server, a real store and a Syncer between them.
type env struct {
	srv    *bbtest.Server
	st     *store.Store
	client *bitbadges.Client
	syncer *Syncer
	logs   *bytes.Buffer
	opts   bbtest.Options
}

func newEnv(t *testing.T, o bbtest.Options) *env {
	t.Helper()
	srv := bbtest.NewServer(o)
	t.Cleanup(srv.Close)
	st, err := store.Open(filepath.Join(t.TempDir(), "kioskd.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o = srv.Options()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	trusted := &TrustedTime{Cache: st}
	c := &bitbadges.Client{APIURL: srv.URL(), ClientID: o.ClientID, APIKey: o.APIKey, ClientSecret: o.ClientSecret,
		RetryDelay: time.Millisecond, OnServerTime: trusted.Observe, Logger: log}
	initial := o.RefreshToken
	s := &Syncer{Client: c, Cache: StoreCache(st), Trusted: trusted, Logger: log,
		InitialRefreshToken: func() (string, error) { return initial, nil }}
	return &env{srv: srv, st: st, client: c, syncer: s, logs: logs, opts: o}
}

func (e *env) sync(t *testing.T) (Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return e.syncer.Sync(ctx)
}

func (e *env) mustSync(t *testing.T) Result {
	t.Helper()
	r, err := e.sync(t)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return r
}

// cached reports whether the serving cache holds code.
func (e *env) cached(t *testing.T, code string) bool {
	t.Helper()
	_, ok, err := e.st.Lookup(store.HashCode(code))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func (e *env) count(t *testing.T) int {
	t.Helper()
	m, err := e.st.Meta()
	if err != nil {
		t.Fatal(err)
	}
	return m.Count
}

type lockedWriter struct {
	mu stdsync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
