package verify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

// TestExplainThroughCheck decides real verdicts over a store and checks the
// words a visitor reads: what the reason refers to (the earlier use, the
// window's edge, the expiry) comes from the decision, not from a guess.
func TestExplainThroughCheck(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		pol   func(*Policy)
		setup func(t *testing.T, r *rig)
		code  int
		dir   string
		want  string
	}{
		{name: "welcome", code: 1, want: "welcome"},
		{name: "unknown", code: 42, want: "code not recognised for this venue"},
		{
			name: "used here earlier today",
			setup: func(t *testing.T, r *rig) {
				// A redemption made by another door at 14:02, as the fleet brings it.
				red := store.Redemption{Hash: store.HashCode(code(1)), At: t0.Add(-3*time.Hour - 58*time.Minute), Kiosk: "Door B", Nonce: "n1"}
				if err := r.st.Redeem(ctx, red, store.Event{Nonce: "n1", Kind: store.KindVerdict}); err != nil {
					t.Fatal(err)
				}
			},
			code: 1, want: "already used at 14:02 at Door B",
		},
		{
			name: "used on another day",
			setup: func(t *testing.T, r *rig) {
				red := store.Redemption{Hash: store.HashCode(code(1)), At: t0.Add(-26 * time.Hour), Kiosk: "door-1", Nonce: "n2"}
				if err := r.st.Redeem(ctx, red, store.Event{Nonce: "n2", Kind: store.KindVerdict}); err != nil {
					t.Fatal(err)
				}
			},
			code: 1, want: "already used at Nov 19 16:00 at door-1",
		},
		{name: "expired", code: 5, want: "expired at 18:00"},
		{
			name: "not open yet",
			pol:  func(p *Policy) { p.ValidFrom = t0.Add(time.Hour).Format(time.RFC3339) },
			code: 1, want: "not valid until 19:00",
		},
		{
			name: "closed",
			pol:  func(p *Policy) { p.ValidUntil = t0.Add(-30 * time.Minute).Format(time.RFC3339) },
			code: 1, want: "no longer valid: entry closed at 17:30",
		},
		{
			name: "stale cache",
			pol:  func(p *Policy) { p.MaxCacheAge, p.StaleCache = time.Minute, "reject" },
			code: 1, want: "cannot check codes right now (the code list is out of date): please see staff",
		},
		{
			name: "anti-passback exit while outside",
			pol:  func(p *Policy) { p.AntiPassback = true },
			code: 1, dir: store.DirExit, want: "not checked in here: cannot check out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			if tt.setup != nil {
				tt.setup(t, r)
			}
			v := r.verifier(func(o *Options) {
				if tt.pol != nil {
					tt.pol(&o.Policy)
				}
			})
			vd := v.Check(ctx, code(tt.code), CheckOpts{Direction: tt.dir})
			if got := vd.Explain(time.UTC); got != tt.want {
				t.Errorf("Explain = %q, want %q (verdict %+v)", got, tt.want, vd)
			}
		})
	}
}

// TestExplainEveryReason: every reason has its own words, none of them
// empty, and none carries the hash or the address of the verdict.
func TestExplainEveryReason(t *testing.T) {
	seen := map[string]Reason{}
	for _, r := range Reasons() {
		vd := Verdict{Reason: r, Hash: strings.Repeat("ab", 32), Address: "bb1secretaddress", At: t0}
		got := vd.Explain(time.UTC)
		if got == "" || got == "not accepted" {
			t.Errorf("%v: no words (%q)", r, got)
		}
		if strings.Contains(got, "abab") || strings.Contains(got, "bb1") {
			t.Errorf("%v: %q carries the hash or the address", r, got)
		}
		if prev, dup := seen[got]; dup && r != Error && prev != Error {
			t.Errorf("%v and %v read the same: %q", r, prev, got)
		}
		seen[got] = r
	}
	if got := (Verdict{Reason: RequirementNotMet, Requirement: "membership"}).Explain(nil); got != "membership required" {
		t.Errorf("requirement: %q", got)
	}
}
