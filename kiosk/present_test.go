package kiosk

import (
	"context"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/verify"
)

// TestPresentTakesTheLanesSteps: a text presented by hand goes through the
// payload rule (URL form, upper case), verify, the outputs when given and
// the observer, as a decoded frame does; with no Signal the outputs stay
// untouched.
func TestPresentTakesTheLanesSteps(t *testing.T) {
	code := strings.Repeat("ab", 32)
	ver := &fakeVerifier{seen: map[string]int{}}
	sig := &recSignal{}
	var heard []verify.Verdict
	p := Presentation{Verifier: ver, Signal: sig, Input: "desk", Observer: observerFunc(func(v verify.Verdict) { heard = append(heard, v) })}
	ctx := context.Background()

	tests := []struct {
		text   string
		reason verify.Reason
	}{
		{"https://bitbadges.io/auth/codes?code=" + strings.ToUpper(code), verify.OK},
		{code, verify.AlreadyUsed},
		{"hello, not a code", verify.NotACode},
	}
	for i, tt := range tests {
		if v := p.Present(ctx, tt.text, verify.CheckOpts{}); v.Reason != tt.reason {
			t.Errorf("%d: %v, want %v", i, v.Reason, tt.reason)
		}
	}
	if len(ver.checks) != 2 || ver.checks[0] != code || ver.checks[1] != code || ver.junk != 1 {
		t.Errorf("verifier saw %q and %d junk", ver.checks, ver.junk)
	}
	if len(heard) != 3 || heard[0].Input != "desk" || heard[2].Input != "desk" {
		t.Errorf("observer heard %d verdicts (%+v), want 3 naming the input", len(heard), heard)
	}
	want := []gpio.Pattern{gpio.Accept, gpio.Reject, gpio.Reject}
	if len(sig.shown) != len(want) || sig.shown[0] != want[0] || sig.shown[1] != want[1] {
		t.Errorf("outputs showed %v, want %v", sig.shown, want)
	}

	quiet := Presentation{Verifier: ver}
	quiet.Present(ctx, strings.Repeat("cd", 32), verify.CheckOpts{})
	if len(sig.shown) != 3 {
		t.Errorf("a presentation without Signal drove the outputs")
	}
	// A look-up of junk records nothing either.
	if v := quiet.Present(ctx, "junk", verify.CheckOpts{DryRun: true}); v.Reason != verify.NotACode || ver.junk != 1 {
		t.Errorf("dry run of junk: %v, %d recorded", v.Reason, ver.junk)
	}
}
