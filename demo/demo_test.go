package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/verify"
)

// TestDemoEndToEnd runs the whole demo: the real sync client against the
// stand-in, bbolt, the real decoder on the bundled frames and the sim GPIO.
// It checks the verdicts in order and what the relay did.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the full demo (~10 s)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, &out, Options{Extra: 60})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	// The stand-in soft-deletes one filler code in fifty, like BitBadges
	// does with deleted codes: 2 demo + 59 live filler.
	if res.Synced != 61 {
		t.Errorf("synced %d codes, want 61", res.Synced)
	}
	want := []struct {
		accept bool
		reason verify.Reason
	}{
		{true, verify.OK},           // the valid code
		{false, verify.AlreadyUsed}, // the same code again
		{false, verify.Unknown},     // a code the venue never issued
		{false, verify.NotACode},    // a QR that is not a kiosk code
		{true, verify.OK},           // dark-mode code
	}
	// The gated scene: the badge holder is let in, the other guest refused.
	if len(res.Gated) != 2 || !res.Gated[0].Accept || res.Gated[1].Accept ||
		res.Gated[1].Reason != verify.RequirementNotMet || res.Gated[1].Requirement != "Member" {
		t.Errorf("gated scene verdicts %+v\n%s", res.Gated, out.String())
	}
	if len(res.Verdicts) != len(want) {
		t.Fatalf("got %d verdicts, want %d:\n%s", len(res.Verdicts), len(want), out.String())
	}
	for i, w := range want {
		v := res.Verdicts[i]
		if v.Accept != w.accept || v.Reason != w.reason {
			t.Errorf("verdict %d = %v/%v, want %v/%v", i, v.Accept, v.Reason, w.accept, w.reason)
		}
	}
	// The relay: requested off, then exactly one pulse per accept, each
	// about gpio.relay.pulse long, and off at the end.
	var relay []bool
	var held []time.Duration
	for _, tr := range res.Transitions {
		if tr.Label != "relay" {
			continue
		}
		relay = append(relay, tr.Active)
		held = append(held, tr.Held)
	}
	// Two accepts in the first scene, one at the scanner (issue 20), one in the gated scene.
	wantRelay := []bool{false, true, false, true, false, true, false, true, false}
	if len(relay) != len(wantRelay) {
		t.Fatalf("relay transitions %v, want %v", relay, wantRelay)
	}
	for i := range wantRelay {
		if relay[i] != wantRelay[i] {
			t.Fatalf("relay transitions %v, want %v", relay, wantRelay)
		}
	}
	for _, i := range []int{2, 4, 6, 8} {
		if held[i] < 900*time.Millisecond || held[i] > 1500*time.Millisecond {
			t.Errorf("relay pulse %d lasted %v, want ~1s", i/2, held[i])
		}
	}
	// One verdict event per verdict of both scenes and nothing else, none holding a code.
	if n := len(want) + len(res.Gated) + len(res.Scanned); res.Pending != n {
		t.Errorf("%d events pending, want %d", res.Pending, n)
	}
	s := out.String()
	for _, frag := range []string{"ACCEPT (ok)", "REJECT (already-used)", "REJECT (unknown)", "REJECT (not-a-code)", "relay",
		"REJECT (requirement-not-met) [Member]", "badge owners"} {
		if !strings.Contains(s, frag) {
			t.Errorf("demo output lacks %q:\n%s", frag, s)
		}
	}
}
