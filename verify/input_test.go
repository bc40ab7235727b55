package verify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// Every verdict names the input it was read at, and so does its event
// (uploaded as "input"); a check with no input names none.
func TestVerdictsAndEventsNameTheInput(t *testing.T) {
	r := newRig(t)
	v := r.verifier(nil)
	ctx := context.Background()
	got := []Verdict{
		v.Check(ctx, code(1), CheckOpts{Input: "door-scanner"}),
		v.Check(ctx, code(1), CheckOpts{Input: "camera"}),
		v.NotACode(ctx, CheckOpts{Input: "desk"}),
		v.Check(ctx, code(2), CheckOpts{}),
		v.NotACode(ctx),
	}
	want := []string{"door-scanner", "camera", "desk", "", ""}
	evs, err := r.st.PendingEvents(100)
	if err != nil || len(evs) != len(want) {
		t.Fatalf("%d events (%v), want %d", len(evs), err, len(want))
	}
	for i := range want {
		if got[i].Input != want[i] || evs[i].Input != want[i] {
			t.Errorf("verdict %d: input %q, event input %q; want %q", i, got[i].Input, evs[i].Input, want[i])
		}
	}
	b, _ := json.Marshal(evs[0])
	if !strings.Contains(string(b), `"input":"door-scanner"`) {
		t.Errorf("uploaded event %s does not name the input", b)
	}
	if b, _ = json.Marshal(evs[3]); strings.Contains(string(b), `"input"`) {
		t.Errorf("event %s names an input it has not", b)
	}
	if !strings.Contains(r.logs.String(), "input=door-scanner") {
		t.Errorf("log does not name the input:\n%s", r.logs)
	}
}
