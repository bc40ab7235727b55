package verify

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

var (
	t0      = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	evStart = t0.Add(-time.Hour)
	evEnd   = t0.Add(5 * time.Hour)
)

func mkPolicy(mod func(*Policy)) policy {
	p := DefaultPolicy()
	if mod != nil {
		mod(&p)
	}
	pp := policy{Policy: p}
	pp.from, pp.until = p.Window()
	return pp
}

func used(at time.Time, n uint64, inside bool) func(*facts) {
	return func(f *facts) {
		f.Redeemed = true
		f.State = store.RedemptionState{Count: n, Inside: inside,
			Last: store.Redemption{At: at, Nonce: "x"}, LastUse: store.Redemption{At: at, Nonce: "x"}}
	}
}

func TestDecideTable(t *testing.T) {
	window := func(p *Policy) {
		p.ValidFrom, p.ValidUntil = evStart.Format(time.RFC3339), evEnd.Format(time.RFC3339)
	}
	cooldown := func(p *Policy) { p.Reuse, p.Cooldown = ReuseCooldown, 10*time.Minute }
	unlimited := func(p *Policy) { p.Reuse = ReuseUnlimited }
	maxAge := func(mode string) func(*Policy) {
		return func(p *Policy) { p.MaxCacheAge, p.StaleCache = 24*time.Hour, mode }
	}
	untrusted := func(mode string) func(*Policy) { return func(p *Policy) { p.UntrustedClock = mode } }
	both := func(ms ...func(*Policy)) func(*Policy) {
		return func(p *Policy) {
			for _, m := range ms {
				m(p)
			}
		}
	}
	passback := func(p *Policy) { p.AntiPassback, p.Reuse = true, ReuseUnlimited }
	tests := []struct {
		name   string
		pol    func(*Policy)
		facts  func(*facts)
		want   Reason
		warn   bool
		exch   bool
		wantAt time.Time
	}{
		{name: "known fresh code", want: OK},
		{name: "unknown", facts: func(f *facts) { f.Found = false }, want: Unknown},
		{name: "unknown exchangeable asks online", facts: func(f *facts) { f.Found, f.Exchangeable = false, true }, want: Unknown, exch: true},
		{name: "unknown exchangeable but used", facts: func(f *facts) { f.Found, f.Exchangeable = false, true; used(t0.Add(-time.Hour), 1, false)(f) }, want: AlreadyUsed},
		{name: "unknown exchangeable outside window", pol: window, facts: func(f *facts) { f.Found, f.Exchangeable = false, true; f.Wall = evEnd }, want: OutsideWindow},
		{name: "single used", facts: used(t0.Add(-time.Hour), 1, false), want: AlreadyUsed},
		{name: "single used by a peer", facts: func(f *facts) { used(t0.Add(-time.Hour), 1, false)(f); f.State.Last.Peer = true }, want: AlreadyUsed},
		{name: "single only exited", facts: func(f *facts) { used(t0, 0, false)(f) }, want: OK},
		{name: "cooldown within", pol: cooldown, facts: used(t0.Add(-9*time.Minute), 1, false), want: AlreadyUsed},
		{name: "cooldown exactly over", pol: cooldown, facts: used(t0.Add(-10*time.Minute), 1, false), want: OK},
		{name: "cooldown last use in the future", pol: cooldown, facts: used(t0.Add(time.Minute), 1, false), want: AlreadyUsed},
		{name: "unlimited used many times", pol: unlimited, facts: used(t0.Add(-time.Second), 99, false), want: OK},
		{name: "expired", facts: func(f *facts) { f.Record.ExpiresAt = t0 }, want: Expired},
		{name: "expires later", facts: func(f *facts) { f.Record.ExpiresAt = t0.Add(time.Millisecond) }, want: OK},
		{name: "before window", pol: window, facts: func(f *facts) { f.Wall = evStart.Add(-time.Second) }, want: OutsideWindow},
		{name: "window start inclusive", pol: window, facts: func(f *facts) { f.Wall = evStart }, want: OK},
		{name: "window end exclusive", pol: window, facts: func(f *facts) { f.Wall = evEnd }, want: OutsideWindow},
		{name: "stale reject", pol: maxAge("reject"), facts: func(f *facts) { f.LastSync = t0.Add(-25 * time.Hour) }, want: StaleCache},
		{name: "stale warn", pol: maxAge("warn"), facts: func(f *facts) { f.LastSync = t0.Add(-25 * time.Hour) }, want: OK, warn: true},
		{name: "never synced reject", pol: maxAge("reject"), facts: func(f *facts) { f.LastSync = time.Time{} }, want: StaleCache},
		{name: "fresh enough", pol: maxAge("reject"), facts: func(f *facts) { f.LastSync = t0.Add(-23 * time.Hour) }, want: OK},
		{name: "stale ignored for online exchange", pol: maxAge("reject"), facts: func(f *facts) {
			f.Found, f.Exchangeable, f.LastSync = false, true, t0.Add(-48*time.Hour)
		}, want: Unknown, exch: true},
		{name: "clock slightly behind is trusted", facts: func(f *facts) { f.Trusted = t0.Add(time.Minute) }, want: OK, wantAt: t0},
		// Untrusted clock: wall is a day behind the trusted time.
		{name: "untrusted single reject mode, no time rule", pol: untrusted("reject"), facts: func(f *facts) { f.Trusted = t0.Add(24 * time.Hour) }, want: OK, warn: true, wantAt: t0.Add(24 * time.Hour)},
		{name: "untrusted single used", pol: untrusted("reject"), facts: func(f *facts) { f.Trusted = t0.Add(24 * time.Hour); used(t0, 1, false)(f) }, want: AlreadyUsed},
		{name: "untrusted window reject", pol: both(window, untrusted("reject")), facts: func(f *facts) { f.Trusted = t0.Add(time.Hour) }, want: ClockUntrusted},
		{name: "untrusted window last-known inside", pol: both(window, untrusted("last-known")), facts: func(f *facts) { f.Trusted = t0.Add(time.Hour) }, want: OK, warn: true, wantAt: t0.Add(time.Hour)},
		{name: "untrusted window last-known after end", pol: both(window, untrusted("last-known")), facts: func(f *facts) { f.Wall = t0; f.Trusted = evEnd.Add(time.Hour) }, want: OutsideWindow},
		{name: "untrusted expiry reject", pol: untrusted("reject"), facts: func(f *facts) { f.Trusted = t0.Add(time.Hour); f.Record.ExpiresAt = t0.Add(48 * time.Hour) }, want: ClockUntrusted},
		{name: "untrusted expiry last-known expired", pol: untrusted("last-known"), facts: func(f *facts) { f.Trusted = t0.Add(time.Hour); f.Record.ExpiresAt = t0.Add(30 * time.Minute) }, want: Expired},
		{name: "untrusted cooldown reject", pol: both(cooldown, untrusted("reject")), facts: func(f *facts) { f.Trusted = t0.Add(time.Hour); used(t0.Add(-time.Hour), 1, false)(f) }, want: ClockUntrusted},
		{name: "untrusted cooldown first use", pol: both(cooldown, untrusted("reject")), facts: func(f *facts) { f.Trusted = t0.Add(time.Hour) }, want: OK, warn: true, wantAt: t0.Add(time.Hour)},
		{name: "untrusted cooldown last-known", pol: both(cooldown, untrusted("last-known")), facts: func(f *facts) { f.Trusted = t0.Add(time.Hour); used(t0.Add(55*time.Minute), 1, false)(f) }, want: AlreadyUsed},
		{name: "untrusted max age reject", pol: both(maxAge("warn"), untrusted("reject")), facts: func(f *facts) { f.Trusted = t0.Add(time.Hour) }, want: ClockUntrusted},
		{name: "untrusted stale by trusted time", pol: both(maxAge("reject"), untrusted("last-known")), facts: func(f *facts) { f.LastSync = t0.Add(-20 * time.Hour); f.Trusted = t0.Add(5 * time.Hour) }, want: StaleCache},
		{name: "untrusted unknown stays unknown", pol: both(window, untrusted("reject")), facts: func(f *facts) { f.Found = false; f.Trusted = t0.Add(time.Hour) }, want: Unknown},
		{name: "passback entry", pol: passback, facts: func(f *facts) { f.Direction = store.DirEntry }, want: OK},
		{name: "passback entry while inside", pol: passback, facts: func(f *facts) { f.Direction = store.DirEntry; used(t0.Add(-time.Hour), 1, true)(f) }, want: AntiPassback},
		{name: "passback exit while inside", pol: passback, facts: func(f *facts) { f.Direction = store.DirExit; used(t0.Add(-time.Hour), 1, true)(f) }, want: OK},
		{name: "passback exit while outside", pol: passback, facts: func(f *facts) { f.Direction = store.DirExit }, want: AntiPassback},
		{name: "passback re-entry after exit", pol: passback, facts: func(f *facts) { f.Direction = store.DirEntry; used(t0.Add(-time.Hour), 1, false)(f) }, want: OK},
		{name: "single exit after entry", pol: func(p *Policy) { p.AntiPassback = true }, facts: func(f *facts) { f.Direction = store.DirExit; used(t0.Add(-time.Hour), 1, true)(f) }, want: OK},
		{name: "single re-entry after exit", pol: func(p *Policy) { p.AntiPassback = true }, facts: func(f *facts) { f.Direction = store.DirEntry; used(t0.Add(-time.Hour), 1, false)(f) }, want: AlreadyUsed},
		{name: "no passback undirected while inside", pol: unlimited, facts: func(f *facts) { used(t0.Add(-time.Hour), 1, true)(f) }, want: OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := facts{Found: true, Record: store.Record{Name: "n"}, LastSync: t0.Add(-time.Hour), Wall: t0, Trusted: t0.Add(-time.Hour)}
			if tc.facts != nil {
				tc.facts(&f)
			}
			d := mkPolicy(tc.pol).decide(f)
			if d.Reason != tc.want || d.NeedExchange != tc.exch || (d.Warning != "") != tc.warn {
				t.Fatalf("decide = %+v, want reason %v exchange %v warning %v", d, tc.want, tc.exch, tc.warn)
			}
			if !tc.wantAt.IsZero() && !d.At.Equal(tc.wantAt) {
				t.Fatalf("decided at %v, want %v", d.At, tc.wantAt)
			}
		})
	}
}

// randomCase draws a policy and facts around t0 from r.
func randomCase(r *rand.Rand) (policy, facts) {
	pick := func(xs ...time.Duration) time.Duration { return xs[r.IntN(len(xs))] }
	around := func() time.Time {
		return t0.Add(pick(-72*time.Hour, -25*time.Hour, -time.Hour, -10*time.Minute, -time.Minute, 0, time.Minute, 10*time.Minute, time.Hour, 30*time.Hour))
	}
	p := mkPolicy(func(p *Policy) {
		p.Reuse = []Reuse{ReuseSingle, ReuseCooldown, ReuseUnlimited}[r.IntN(3)]
		p.Cooldown = pick(time.Minute, 15*time.Minute, 2*time.Hour)
		if r.IntN(2) == 0 {
			p.ValidFrom = around().Format(time.RFC3339)
			p.ValidUntil = t0.Add(pick(2*time.Hour, 40*time.Hour)).Format(time.RFC3339)
		}
		p.MaxCacheAge = pick(0, 0, time.Hour, 24*time.Hour)
		p.StaleCache = []string{"reject", "warn"}[r.IntN(2)]
		p.UntrustedClock = []string{"reject", "last-known"}[r.IntN(2)]
		p.ClockTolerance = pick(0, 2*time.Minute)
		p.AntiPassback = r.IntN(3) == 0
	})
	f := facts{
		Found:        r.IntN(4) != 0,
		Exchangeable: r.IntN(3) == 0,
		Wall:         around(),
		Trusted:      around(),
		LastSync:     around(),
		Direction:    []string{"", store.DirEntry, store.DirExit}[r.IntN(3)],
	}
	if r.IntN(5) == 0 {
		f.Trusted = time.Time{}
	}
	if r.IntN(3) == 0 {
		f.Record.ExpiresAt = around()
	}
	if r.IntN(2) == 0 {
		at := around()
		f.Redeemed = true
		f.State = store.RedemptionState{Count: uint64(r.IntN(3)), Inside: r.IntN(2) == 0,
			Last: store.Redemption{At: at, Nonce: "x"}, LastUse: store.Redemption{At: at, Nonce: "x"}}
	}
	return p, f
}

// TestDecideProperties checks invariants of the policies, including the clock
// cases, over many random policies and situations (fixed seeds).
func TestDecideProperties(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		r := rand.New(rand.NewPCG(seed, 42))
		for i := range 5000 {
			p, f := randomCase(r)
			d := p.decide(f)
			name := fmt.Sprintf("seed %d case %d: policy %+v facts %+v → %+v", seed, i, p.Policy, f, d)
			accepted := d.Reason == OK
			untrusted := !f.Trusted.IsZero() && f.Wall.Before(f.Trusted.Add(-p.ClockTolerance))

			// The decision time is never earlier than what is known to have passed.
			if !f.Trusted.IsZero() && d.At.Before(f.Trusted.Add(-p.ClockTolerance)) {
				t.Fatalf("decided before the trusted time: %s", name)
			}
			if d.ClockTrusted == untrusted {
				t.Fatalf("clock trust wrong: %s", name)
			}
			if d.NeedExchange && (f.Found || !f.Exchangeable) {
				t.Fatalf("exchange for a cached code or without an exchanger: %s", name)
			}
			if !f.Found && accepted {
				t.Fatalf("accepted an unknown code without exchange: %s", name)
			}
			if accepted || d.NeedExchange {
				if (!p.from.IsZero() && d.At.Before(p.from)) || (!p.until.IsZero() && !d.At.Before(p.until)) {
					t.Fatalf("accepted outside the window: %s", name)
				}
				if f.Found && !f.Record.ExpiresAt.IsZero() && !d.At.Before(f.Record.ExpiresAt) {
					t.Fatalf("accepted an expired code: %s", name)
				}
				if f.Direction != store.DirExit && f.Redeemed && f.State.Count > 0 {
					if p.Reuse == ReuseSingle {
						t.Fatalf("single-use code accepted twice: %s", name)
					}
					if p.Reuse == ReuseCooldown && d.At.Sub(f.State.LastUse.At) < p.Cooldown {
						t.Fatalf("accepted within the cooldown: %s", name)
					}
				}
				if p.AntiPassback && f.Direction == store.DirEntry && f.Redeemed && f.State.Inside {
					t.Fatalf("passback entry accepted: %s", name)
				}
				if p.AntiPassback && f.Direction == store.DirExit && !(f.Redeemed && f.State.Inside) {
					t.Fatalf("passback exit accepted: %s", name)
				}
				if f.Found && p.StaleCache == "reject" && p.stale(d.At, f.LastSync) {
					t.Fatalf("accepted from a stale cache: %s", name)
				}
				if untrusted && p.UntrustedClock == "reject" && p.timeRules(f) {
					t.Fatalf("time rule decided with an untrusted clock: %s", name)
				}
			}
			if d.Reason == ClockUntrusted && (!untrusted || p.UntrustedClock != "reject") {
				t.Fatalf("clock-untrusted with a trusted clock or last-known: %s", name)
			}
			if untrusted && p.UntrustedClock == "last-known" {
				// last-known means: exactly the verdict the kiosk would give at the trusted time.
				g := f
				g.Wall = f.Trusted
				if e := p.decide(g); e.Reason != d.Reason || e.NeedExchange != d.NeedExchange {
					t.Fatalf("last-known differs from deciding at the trusted time (%v): %s", e.Reason, name)
				}
			}
			if untrusted && p.UntrustedClock == "reject" && d.Reason != ClockUntrusted {
				// Without a time rule in play the clock does not matter.
				g := f
				g.Wall = f.Trusted
				if e := p.decide(g); e.Reason != d.Reason {
					t.Fatalf("untrusted clock changed a time-independent verdict (%v): %s", e.Reason, name)
				}
			}
			// Re-use is monotone: another use never turns a reject into an accept
			// under single use.
			if p.Reuse == ReuseSingle && !accepted && f.Found {
				g := f
				g.Redeemed = true
				g.State.Count++
				if p.decide(g).Reason == OK {
					t.Fatalf("an extra use turned a reject into an accept: %s", name)
				}
			}
		}
	}
}
