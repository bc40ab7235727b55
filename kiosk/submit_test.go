package kiosk

import (
	"context"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/verify"
)

// TestSubmitWithOptions: a text submitted by a page (a staff desk) goes
// through the payload rule (URL form, upper case), verify, the outputs
// unless Quiet and the observer unless DryRun, named by its Input; a
// dry-run look-up of junk records nothing.
func TestSubmitWithOptions(t *testing.T) {
	code := strings.Repeat("ab", 32)
	ver := &fakeVerifier{seen: map[string]int{}}
	sig := &recSignal{}
	var heard []verify.Verdict
	p := &Pipeline{Verifier: ver, Signal: sig, Observer: observerFunc(func(v verify.Verdict) { heard = append(heard, v) })}
	ctx := context.Background()

	tests := []struct {
		text   string
		o      SubmitOpts
		reason verify.Reason
	}{
		{"https://bitbadges.io/auth/codes?code=" + strings.ToUpper(code), SubmitOpts{Input: "desk"}, verify.OK},
		{code, SubmitOpts{Input: "desk", Quiet: true}, verify.AlreadyUsed},
		{"hello, not a code", SubmitOpts{Input: "desk"}, verify.NotACode},
		{"junk looked up", SubmitOpts{Input: "desk", DryRun: true, Quiet: true}, verify.NotACode},
	}
	for i, tt := range tests {
		if v := p.SubmitWith(ctx, tt.text, tt.o); v.Reason != tt.reason || v.Input != "desk" {
			t.Errorf("%d: %v (input %q), want %v", i, v.Reason, v.Input, tt.reason)
		}
	}
	if len(ver.checks) != 2 || ver.checks[0] != code || ver.checks[1] != code || ver.junk != 1 {
		t.Errorf("verifier saw %q and %d junk (the dry run must record none)", ver.checks, ver.junk)
	}
	if len(heard) != 3 {
		t.Errorf("observer heard %d verdicts, want 3 (not the dry run)", len(heard))
	}
	want := []gpio.Pattern{gpio.Accept, gpio.Reject}
	if len(sig.shown) != len(want) || sig.shown[0] != want[0] || sig.shown[1] != want[1] {
		t.Errorf("outputs showed %v, want %v (nothing for the quiet ones)", sig.shown, want)
	}
}
