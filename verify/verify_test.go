package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

func code(i int) string { return fmt.Sprintf("%064x", int64(0xc0de0000)+int64(i)) }

type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) now() time.Time  { return *c.t.Load() }
func (c *clock) set(t time.Time) { c.t.Store(&t) }

type rig struct {
	st   *store.Store
	clk  *clock
	logs *bytes.Buffer
}

// newRig opens a store holding codes 0..9 (code 5 expires at t0), synced an
// hour before t0, with the wall clock at t0.
func newRig(t *testing.T) *rig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sn, _ := st.NewSnapshot()
	for i := range 10 {
		r := store.Record{Hash: store.HashCode(code(i)), Address: fmt.Sprintf("bb1addr%d", i), Chain: "Cosmos", Name: "Event check-in"}
		if i == 5 {
			r.ExpiresAt = t0
		}
		sn.Put(r)
	}
	if err := sn.Commit(store.SyncInfo{At: t0.Add(-time.Hour), Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	c.set(t0)
	return &rig{st: st, clk: c, logs: &bytes.Buffer{}}
}

func (r *rig) verifier(mod func(*Options)) *Verifier {
	o := Options{Policy: DefaultPolicy(), Kiosk: "door-1", Now: r.clk.now,
		Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&o)
	}
	return New(r.st, o)
}

func TestCheckRecordsRedemptionsAndEvents(t *testing.T) {
	r := newRig(t)
	v := r.verifier(nil)
	ctx := context.Background()
	steps := []struct {
		code int
		want Reason
	}{{1, OK}, {1, AlreadyUsed}, {5, Expired}, {42, Unknown}, {2, OK}}
	for i, s := range steps {
		vd := v.Check(ctx, code(s.code), CheckOpts{})
		if vd.Reason != s.want || vd.Accept != (s.want == OK) {
			t.Fatalf("step %d: %+v, want %v", i, vd, s.want)
		}
		if vd.Hash != store.HashCode(code(s.code)) || !vd.At.Equal(t0) {
			t.Fatalf("step %d: hash/time %+v", i, vd)
		}
	}
	nc := v.NotACode(ctx)
	if nc.Accept || nc.Reason != NotACode || nc.Hash != "" {
		t.Fatalf("not a code: %+v", nc)
	}
	evs, _ := r.st.PendingEvents(100)
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason)
		if e.Kiosk != "door-1" || e.Kind != store.KindVerdict || e.Accept != (e.Reason == "ok") {
			t.Fatalf("event %+v", e)
		}
	}
	if got := strings.Join(reasons, ","); got != "ok,already-used,expired,unknown,ok,not-a-code" {
		t.Fatalf("event reasons %s", got)
	}
	last, ok, _ := r.st.LastRedemption(store.HashCode(code(1)))
	if !ok || last.Nonce != evs[0].Nonce || last.Kiosk != "door-1" || !last.At.Equal(t0) {
		t.Fatalf("redemption %+v does not match event %+v", last, evs[0])
	}
	if vd := v.Check(ctx, code(1), CheckOpts{}); vd.Name != "Event check-in" || vd.Address != "bb1addr1" {
		t.Fatalf("record fields not in verdict: %+v", vd)
	}
}

func TestDryRunRecordsNothing(t *testing.T) {
	r := newRig(t)
	ex := &fakeExchanger{}
	v := r.verifier(func(o *Options) { o.Exchanger = ex })
	for range 3 {
		if vd := v.Check(context.Background(), code(3), CheckOpts{DryRun: true}); vd.Reason != OK {
			t.Fatalf("dry run: %+v", vd)
		}
	}
	if vd := v.Check(context.Background(), code(77), CheckOpts{DryRun: true}); vd.Reason != Unknown {
		t.Fatalf("dry run unknown: %+v", vd)
	}
	if n, _ := r.st.PendingCount(); n != 0 {
		t.Fatalf("dry run left %d events", n)
	}
	if _, ok, _ := r.st.LastRedemption(store.HashCode(code(3))); ok {
		t.Fatal("dry run redeemed")
	}
	if ex.calls.Load() != 0 {
		t.Fatal("dry run exchanged a code online (that would consume it)")
	}
}

type fakeExchanger struct {
	calls atomic.Int32
	fn    func(ctx context.Context, code string) (store.Record, error)
}

func (f *fakeExchanger) Exchange(ctx context.Context, code string) (store.Record, error) {
	f.calls.Add(1)
	if f.fn == nil {
		return store.Record{Hash: store.HashCode(code), Address: "bb1online", Chain: "Cosmos"}, nil
	}
	return f.fn(ctx, code)
}

func TestOnlineExchange(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()

	ok := &fakeExchanger{}
	v := r.verifier(func(o *Options) { o.Exchanger = ok })
	vd := v.Check(ctx, code(100), CheckOpts{})
	if !vd.Accept || !vd.Online || vd.Address != "bb1online" {
		t.Fatalf("online accept: %+v", vd)
	}
	// The exchange consumed the code: it is now a redemption, so a second
	// presentation is already-used without asking the server again.
	if vd := v.Check(ctx, code(100), CheckOpts{}); vd.Reason != AlreadyUsed || ok.calls.Load() != 1 {
		t.Fatalf("second online presentation: %+v after %d calls", vd, ok.calls.Load())
	}
	// A cached code is never exchanged.
	v.Check(ctx, code(0), CheckOpts{})
	if ok.calls.Load() != 1 {
		t.Fatal("cached code was exchanged")
	}

	fail := &fakeExchanger{fn: func(context.Context, string) (store.Record, error) {
		return store.Record{}, errors.New("500 unknown code")
	}}
	v = r.verifier(func(o *Options) { o.Exchanger = fail })
	if vd := v.Check(ctx, code(101), CheckOpts{}); vd.Reason != Unknown || vd.Online {
		t.Fatalf("failed exchange: %+v", vd)
	}

	slow := &fakeExchanger{fn: func(ctx context.Context, _ string) (store.Record, error) {
		<-ctx.Done()
		return store.Record{}, ctx.Err()
	}}
	v = r.verifier(func(o *Options) { o.Exchanger = slow; o.ExchangeBudget = 50 * time.Millisecond })
	start := time.Now()
	if vd := v.Check(ctx, code(102), CheckOpts{}); vd.Reason != Unknown {
		t.Fatalf("slow exchange: %+v", vd)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("exchange budget not enforced: %v", d)
	}

	expired := &fakeExchanger{fn: func(_ context.Context, c string) (store.Record, error) {
		return store.Record{Hash: store.HashCode(c), ExpiresAt: t0.Add(-time.Minute)}, nil
	}}
	v = r.verifier(func(o *Options) { o.Exchanger = expired })
	if vd := v.Check(ctx, code(103), CheckOpts{}); vd.Reason != Expired || vd.Accept {
		t.Fatalf("expired online record: %+v", vd)
	}

	// Outside the window the code is not even sent (it would be consumed).
	win := &fakeExchanger{}
	v = r.verifier(func(o *Options) {
		o.Exchanger = win
		o.Policy.ValidFrom = t0.Add(time.Hour).Format(time.RFC3339)
	})
	if vd := v.Check(ctx, code(104), CheckOpts{}); vd.Reason != OutsideWindow || win.calls.Load() != 0 {
		t.Fatalf("outside window: %+v, %d calls", vd, win.calls.Load())
	}
}

func TestAntiPassbackEndToEnd(t *testing.T) {
	r := newRig(t)
	v := r.verifier(func(o *Options) { o.Policy.AntiPassback = true; o.Policy.Reuse = ReuseUnlimited })
	ctx := context.Background()
	for i, s := range []struct {
		dir  string
		want Reason
	}{
		{store.DirExit, AntiPassback}, {store.DirEntry, OK}, {store.DirEntry, AntiPassback},
		{store.DirExit, OK}, {store.DirExit, AntiPassback}, {store.DirEntry, OK},
	} {
		r.clk.set(t0.Add(time.Duration(i) * time.Minute))
		if vd := v.Check(ctx, code(4), CheckOpts{Direction: s.dir}); vd.Reason != s.want {
			t.Fatalf("step %d %s: %v, want %v", i, s.dir, vd.Reason, s.want)
		}
	}
}

func TestUntrustedClockEndToEnd(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	trusted := t0.Add(48 * time.Hour)
	r.st.ObserveTrustedTime(trusted)
	// The Pi rebooted without network: its clock says t0, two days too early.
	v := r.verifier(func(o *Options) { o.Policy.UntrustedClock = "last-known" })
	vd := v.Check(ctx, code(1), CheckOpts{})
	if !vd.Accept || !vd.At.Equal(trusted) || vd.Warning == "" {
		t.Fatalf("last-known: %+v", vd)
	}
	if last, _, _ := r.st.LastRedemption(vd.Hash); !last.At.Equal(trusted) {
		t.Fatalf("redemption at %v, want the trusted time", last.At)
	}
	v = r.verifier(func(o *Options) {
		o.Policy.UntrustedClock = "reject"
		o.Policy.ValidUntil = t0.Add(72 * time.Hour).Format(time.RFC3339)
	})
	if vd := v.Check(ctx, code(2), CheckOpts{}); vd.Reason != ClockUntrusted || vd.Accept {
		t.Fatalf("reject mode: %+v", vd)
	}
	if h := v.Health(t0); h.ClockTrusted {
		t.Fatalf("health: %+v", h)
	}
}

func TestHealth(t *testing.T) {
	r := newRig(t)
	v := r.verifier(func(o *Options) { o.Policy.MaxCacheAge = 2 * time.Hour })
	if h := v.Health(t0); h.Stale || !h.ClockTrusted || h.Count != 10 || h.CacheAge != time.Hour {
		t.Fatalf("fresh: %+v", h)
	}
	if h := v.Health(t0.Add(90 * time.Minute)); !h.Stale {
		t.Fatalf("stale: %+v", h)
	}
	empty, _ := store.Open(filepath.Join(t.TempDir(), "e.db"), store.Options{NoSync: true})
	defer empty.Close()
	if h := New(empty, Options{}).Health(t0); !h.Stale || h.Count != 0 {
		t.Fatalf("never synced: %+v", h)
	}
}

func TestStoreFailureIsErrorNeverAccept(t *testing.T) {
	r := newRig(t)
	v := r.verifier(nil)
	r.st.Close()
	vd := v.Check(context.Background(), code(1), CheckOpts{})
	if vd.Accept || vd.Reason != Error {
		t.Fatalf("closed store: %+v", vd)
	}
}

func TestRedeemFailureIsError(t *testing.T) {
	r := newRig(t)
	v := r.verifier(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A canceled context makes Redeem fail: the door must not open.
	if vd := v.Check(ctx, code(1), CheckOpts{}); vd.Accept || vd.Reason != Error {
		t.Fatalf("failed redeem: %+v", vd)
	}
	if _, ok, _ := r.st.LastRedemption(store.HashCode(code(1))); ok {
		t.Fatal("redemption recorded although Check failed")
	}
}

func TestCodeNeverLogged(t *testing.T) {
	r := newRig(t)
	v := r.verifier(func(o *Options) {
		o.Exchanger = &fakeExchanger{fn: func(_ context.Context, c string) (store.Record, error) {
			return store.Record{}, fmt.Errorf("exchange of %s failed", c) // a careless exchanger
		}}
	})
	ctx := context.Background()
	for i := range 12 {
		v.Check(ctx, code(i%11+95), CheckOpts{})
		v.Check(ctx, code(i), CheckOpts{})
	}
	r.st.Close()
	if r.logs.Len() == 0 {
		t.Fatal("no logs captured: the test cannot fail")
	}
	for i := range 110 {
		if strings.Contains(r.logs.String(), code(i)) {
			t.Fatalf("code %d in logs", i)
		}
	}
}

func TestConcurrentChecksSingleUse(t *testing.T) {
	r := newRig(t)
	v := r.verifier(nil)
	ctx := context.Background()
	var accepts atomic.Int32
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			if v.Check(ctx, code(7), CheckOpts{}).Accept {
				accepts.Add(1)
			}
		}()
	}
	for range 8 {
		<-done
	}
	if accepts.Load() != 1 {
		t.Fatalf("single-use code accepted %d times by concurrent checks", accepts.Load())
	}
	st, _, _ := r.st.RedemptionState(store.HashCode(code(7)))
	if int(st.Count) != int(accepts.Load()) {
		t.Fatalf("%d accepts but %d redemptions", accepts.Load(), st.Count)
	}
}

// The verdict names the holder's BitBadges address (the join to badge
// owners, and the identity a till keys on), whatever the verdict.
func TestVerdictHolder(t *testing.T) {
	r := newRig(t)
	sn, _ := r.st.NewSnapshot()
	for i := range 10 {
		sn.Put(store.Record{Hash: store.HashCode(code(i)), Address: fmt.Sprintf("0xnative%d", i), Chain: "ETH",
			BitBadgesAddress: fmt.Sprintf("bb1holder%d", i)})
	}
	if err := sn.Commit(store.SyncInfo{At: t0.Add(-time.Hour), Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v := r.verifier(func(o *Options) { o.Exchanger = &fakeExchanger{} })
	for _, c := range []struct {
		code   string
		reason Reason
		holder string
	}{
		{code(1), OK, "bb1holder1"},
		{code(1), AlreadyUsed, "bb1holder1"},
		{code(100), OK, "bb1online"}, // exchanged online: the exchange's record
	} {
		vd := v.Check(ctx, c.code, CheckOpts{})
		if vd.Reason != c.reason || vd.Holder != c.holder {
			t.Errorf("got %v holder %q, want %v holder %q", vd.Reason, vd.Holder, c.reason, c.holder)
		}
	}
	v = r.verifier(nil) // no exchanger: unknown, nobody
	if vd := v.Check(ctx, code(200), CheckOpts{}); vd.Reason != Unknown || vd.Holder != "" {
		t.Errorf("unknown code: %v holder %q", vd.Reason, vd.Holder)
	}
	if vd := v.NotACode(ctx); vd.Holder != "" {
		t.Errorf("not a code: holder %q", vd.Holder)
	}
}

// A verdict carries its outbox event's nonce: the one id of the verdict for
// the event upload and every hand-off output.
func TestVerdictNonce(t *testing.T) {
	r := newRig(t)
	v := r.verifier(nil)
	ctx := context.Background()
	vs := []Verdict{v.Check(ctx, code(1), CheckOpts{}), v.Check(ctx, code(1), CheckOpts{}), v.Check(ctx, code(200), CheckOpts{}), v.NotACode(ctx)}
	evs, err := r.st.PendingEvents(10)
	if err != nil || len(evs) != len(vs) {
		t.Fatalf("events %v %v", evs, err)
	}
	for i, vd := range vs {
		if vd.Nonce == "" || vd.Nonce != evs[i].Nonce {
			t.Errorf("verdict %d (%v): nonce %q, its event's %q", i, vd.Reason, vd.Nonce, evs[i].Nonce)
		}
	}
	if vd := v.Check(ctx, code(2), CheckOpts{DryRun: true}); vd.Nonce != "" {
		t.Errorf("a dry run has no event, yet nonce %q", vd.Nonce)
	}
}
