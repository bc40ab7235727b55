package kiosk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/verify"
)

// textScript plays reads at the given offsets from t0.
type textScript struct {
	t0    time.Time
	reads []struct {
		at   time.Duration
		text string
	}
}

func (s *textScript) Read(ctx context.Context, fn func(input.Read)) error {
	for _, r := range s.reads {
		if ctx.Err() != nil {
			return nil
		}
		fn(input.Read{Text: r.text, At: s.t0.Add(r.at)})
	}
	return nil
}

// TestPipelineTextInput: a text input's reads take the frames' path after
// the decoder: the payload rule, presence (the same code read again within
// rearm is one presentation), verify and the signal.
func TestPipelineTextInput(t *testing.T) {
	codeA := strings.Repeat("ab", 32)
	src := &textScript{t0: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	src.reads = append(src.reads, []struct {
		at   time.Duration
		text string
	}{
		{0, codeA},
		{100 * time.Millisecond, codeA},                   // a double read: suppressed
		{time.Second, strings.ToUpper(codeA)},             // re-armed, normalised: already used
		{1100 * time.Millisecond, "WIFI:S:venue;T:WPA;;"}, // junk
		{2 * time.Second, "https://example.com/?code=" + strings.Repeat("cd", 32)},
	}...)
	ver := &fakeVerifier{seen: map[string]int{}}
	sig := &recSignal{}
	var verdicts []verify.Verdict
	p := &Pipeline{Text: src, Verifier: ver, Signal: sig, Rearm: 500 * time.Millisecond,
		Observer: observerFunc(func(v verify.Verdict) { verdicts = append(verdicts, v) })}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{codeA, codeA, strings.Repeat("cd", 32)}
	if strings.Join(ver.checks, ",") != strings.Join(want, ",") {
		t.Errorf("checks = %q, want %q", ver.checks, want)
	}
	if ver.junk != 1 {
		t.Errorf("not-a-code verdicts = %d, want 1", ver.junk)
	}
	wantShown := []gpio.Pattern{gpio.Accept, gpio.Reject, gpio.Reject, gpio.Accept}
	if len(sig.shown) != len(wantShown) || len(verdicts) != len(wantShown) {
		t.Fatalf("shown %v (%d verdicts), want %v", sig.shown, len(verdicts), wantShown)
	}
	for i := range wantShown {
		if sig.shown[i] != wantShown[i] {
			t.Fatalf("shown %v, want %v", sig.shown, wantShown)
		}
	}
}

// TestPipelineSubmit: a code submitted from outside the source (a staff
// desk) is decided every time, without presence, and shown.
func TestPipelineSubmit(t *testing.T) {
	codeA := strings.Repeat("ab", 32)
	ver := &fakeVerifier{seen: map[string]int{}}
	sig := &recSignal{}
	p := &Pipeline{Verifier: ver, Signal: sig, Rearm: time.Hour}
	got := []verify.Verdict{p.Submit(context.Background(), codeA), p.Submit(context.Background(), codeA),
		p.Submit(context.Background(), "not a code")}
	if !got[0].Accept || got[1].Reason != verify.AlreadyUsed || got[2].Reason != verify.NotACode {
		t.Errorf("verdicts %+v", got)
	}
	if len(sig.shown) != 3 || sig.shown[0] != gpio.Accept || sig.shown[2] != gpio.Reject {
		t.Errorf("shown %v", sig.shown)
	}
}
