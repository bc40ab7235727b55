package kiosk

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner"
)

const (
	none = scanner.HintNone
	far  = scanner.HintTooFar
	dark = scanner.HintTooDark
	blur = scanner.HintBlurred
)

// step is one frame for the hint filter: a read, or the decoder's raw hint,
// dt after the previous frame.
type step struct {
	read bool
	raw  scanner.Hint
	dt   time.Duration
}

// TestHintFilter: a hint is shown once it held on hintFrames frames or for
// hintHold, never on a single frame; it goes the same way when nothing
// code-like is in view, and at once on a read.
func TestHintFilter(t *testing.T) {
	fast := 40 * time.Millisecond // 25 fps
	slow := 500 * time.Millisecond
	f := func(raw scanner.Hint, dt time.Duration) step { return step{raw: raw, dt: dt} }
	read := step{read: true, dt: fast}
	tests := []struct {
		name  string
		steps []step
		want  []scanner.Hint // the changes, in order
	}{
		{"nothing in view", []step{f(none, fast), f(none, fast), f(none, fast), f(none, fast)}, nil},
		{"one frame is not enough", []step{f(far, fast), f(none, fast), f(none, fast), f(none, fast)}, nil},
		{"three frames in a row", []step{f(far, fast), f(far, fast), f(far, fast), f(far, fast)}, []scanner.Hint{far}},
		{"two frames 300ms apart at a slow rate", []step{f(dark, slow), f(dark, slow)}, []scanner.Hint{dark}},
		{"alternating never flickers", []step{f(far, fast), f(none, fast), f(far, fast), f(none, fast), f(far, fast), f(none, fast)}, nil},
		{"a hint stays through one odd frame", []step{f(far, fast), f(far, fast), f(far, fast), f(blur, fast), f(far, fast), f(blur, fast), f(far, fast)}, []scanner.Hint{far}},
		{"changes hint once the new one holds", []step{f(far, fast), f(far, fast), f(far, fast), f(blur, fast), f(blur, fast), f(blur, fast)}, []scanner.Hint{far, blur}},
		{"clears when nothing is in view for a while", []step{f(far, fast), f(far, fast), f(far, fast), f(none, fast), f(none, fast), f(none, fast)}, []scanner.Hint{far, none}},
		{"a read clears at once", []step{f(far, fast), f(far, fast), f(far, fast), read, f(none, fast), f(none, fast), f(none, fast)}, []scanner.Hint{far, none}},
		{"a read without a hint changes nothing", []step{read, read, f(none, fast)}, nil},
		{"back after a read only once it holds", []step{f(far, fast), f(far, fast), f(far, fast), read, f(far, fast), f(far, fast), f(far, fast)}, []scanner.Hint{far, none, far}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hintFilter
			at := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
			var got []scanner.Hint
			for _, s := range tt.steps {
				at = at.Add(s.dt)
				show, changed := h.frame(s.read, s.raw, at)
				if changed {
					got = append(got, show)
				}
				if show != h.shown {
					t.Fatalf("frame returned %v, shows %v", show, h.shown)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("changes %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHintFilterAllocatesNothing: the filter runs on every frame.
func TestHintFilterAllocatesNothing(t *testing.T) {
	var h hintFilter
	at := time.Now()
	hints := []scanner.Hint{far, far, far, none, none, none, blur}
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		at = at.Add(40 * time.Millisecond)
		h.frame(false, hints[i%len(hints)], at)
		i++
	}); n != 0 {
		t.Errorf("%v allocations a frame", n)
	}
}

// hintScript is a decoder that reads no code and reports a scripted hint
// per frame (by the frame's Seq), or reads "code" where the script says so.
type hintScript struct {
	steps []step
	last  scanner.Hint
}

func (d *hintScript) Decode(f scanner.Frame) (string, bool) {
	s := d.steps[f.Seq-1]
	if s.read {
		d.last = none
		return "not-a-kiosk-code", true
	}
	d.last = s.raw
	return "", false
}

func (d *hintScript) Hint() scanner.Hint { return d.last }

// TestPipelineHints: a frame lane with a HintDecoder reports the debounced
// hint on each change only, a read clears it, and it is cleared when the
// lane stops.
func TestPipelineHints(t *testing.T) {
	f := func(raw scanner.Hint) step { return step{raw: raw} }
	steps := []step{f(far), f(far), f(far), f(far), f(far), {read: true}, f(none), f(dark), f(dark), f(dark)}
	frames := make([]scanner.Frame, len(steps))
	for i := range frames {
		frames[i] = qrFrame(t, "")
	}
	clock := &fakeClock{t: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)}
	var got []scanner.Hint
	p := &Pipeline{Source: &scriptSource{frames: frames, clock: clock, step: 40 * time.Millisecond}, Decoder: &hintScript{steps: steps},
		Verifier: &fakeVerifier{}, Now: clock.now, Hints: func(h scanner.Hint) { got = append(got, h) }}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []scanner.Hint{far, none, dark, none}; !slices.Equal(got, want) {
		t.Errorf("hints %v, want %v", got, want)
	}
	// A lane without a hint feed, or a decoder without hints, runs as before.
	p = &Pipeline{Source: &scriptSource{frames: frames, clock: clock}, Decoder: &hintScript{steps: steps}, Verifier: &fakeVerifier{}, Now: clock.now}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkHintFilter is the per-frame cost of the hint feed on the lane.
func BenchmarkHintFilter(b *testing.B) {
	var h hintFilter
	at := time.Now()
	hints := []scanner.Hint{far, far, far, none, none, none, blur}
	b.ReportAllocs()
	for i := range b.N {
		at = at.Add(40 * time.Millisecond)
		h.frame(false, hints[i%len(hints)], at)
	}
}
