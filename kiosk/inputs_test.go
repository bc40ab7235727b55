package kiosk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// scriptReader plays scans, each at its own time, as a scanner would send them.
type scriptReader struct {
	scans []input.Scan
}

func (r *scriptReader) Run(ctx context.Context, emit func(input.Scan)) error {
	for _, s := range r.scans {
		if ctx.Err() != nil {
			return nil
		}
		emit(s)
	}
	return nil
}

func (r *scriptReader) Describe() string { return "script" }

// A scanner's reads take the same step as a decoded frame's text: the
// payload rule (URL form, upper case), one verdict per presentation while a
// scanner re-sends a held code, junk tracked too, and the input named in
// every call to the verifier.
func TestTextLaneSharesTheFrameStep(t *testing.T) {
	codeA := strings.Repeat("ab", 32)
	codeB := strings.Repeat("CD", 32)
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return base.Add(time.Duration(n) * time.Millisecond) }
	script := []input.Scan{
		{Text: codeA, At: ms(0)},
		{Text: codeA, At: ms(100)},  // re-sent while held: the same presentation
		{Text: codeA, At: ms(350)},  // 250 ms after the last: still held (rearm 300 ms)
		{Text: codeA, At: ms(1000)}, // away 650 ms: a new presentation (already used)
		{Text: "WIFI:S:venue;;", At: ms(1100)},
		{Text: "WIFI:S:venue;;", At: ms(1200)}, // a wrong barcode re-sent: one verdict
		{Text: codeB, At: ms(1300)},
		{Text: "https://example.com/?code=" + codeA, At: ms(1700)}, // A last seen 700 ms ago
	}
	ver := &fakeVerifier{seen: map[string]int{}}
	sig := &recSignal{}
	var verdicts []verify.Verdict
	dec := &Decider{Verifier: ver, Signal: sig, Rearm: 300 * time.Millisecond, Input: "desk-scanner",
		Observer: observerFunc(func(v verify.Verdict) { verdicts = append(verdicts, v) })}
	reads := 0
	if err := RunText(context.Background(), &scriptReader{scans: script}, dec, func(time.Time) { reads++ }); err != nil {
		t.Fatal(err)
	}
	wantChecks := []string{codeA, codeA, strings.ToLower(codeB), codeA}
	if strings.Join(ver.checks, ",") != strings.Join(wantChecks, ",") {
		t.Errorf("checks = %q, want %q", ver.checks, wantChecks)
	}
	if ver.junk != 1 {
		t.Errorf("not-a-code verdicts = %d, want 1", ver.junk)
	}
	for i, in := range ver.inputs {
		if in != "desk-scanner" {
			t.Errorf("verifier call %d named input %q", i, in)
		}
	}
	want := []gpio.Pattern{gpio.Accept, gpio.Reject, gpio.Reject, gpio.Accept, gpio.Reject}
	if len(sig.shown) != len(want) || len(verdicts) != len(want) {
		t.Fatalf("shown %v, %d verdicts; want %v", sig.shown, len(verdicts), want)
	}
	for i := range want {
		if sig.shown[i] != want[i] {
			t.Errorf("shown %v, want %v", sig.shown, want)
			break
		}
	}
	if reads != len(script) {
		t.Errorf("onRead heard %d reads, want %d", reads, len(script))
	}
}

// The camera lane names its input too.
func TestPipelineNamesItsInput(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	ver := &fakeVerifier{seen: map[string]int{}}
	p := &Pipeline{Source: &scriptSource{frames: []scanner.Frame{qrFrame(t, strings.Repeat("ab", 32)), qrFrame(t, "junk")}, clock: clk, step: time.Second},
		Decoder: scanner.NewDecoder(scanner.DecoderOptions{}), Verifier: ver, Input: "camera", Now: clk.now, Rearm: time.Second}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ver.inputs, ",") != "camera,camera" {
		t.Errorf("inputs named %q, want camera twice", ver.inputs)
	}
}

func TestTextLaneDecidesNothingAfterShutdownBegins(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ver := &fakeVerifier{seen: map[string]int{}}
	r := &cancelReader{cancel: cancel, scan: input.Scan{Text: strings.Repeat("ab", 32), At: time.Now()}}
	if err := RunText(ctx, r, &Decider{Verifier: ver}, nil); err != nil {
		t.Fatal(err)
	}
	if len(ver.checks) != 0 {
		t.Errorf("a read after shutdown began was checked")
	}
}

type cancelReader struct {
	cancel context.CancelFunc
	scan   input.Scan
}

func (r *cancelReader) Run(ctx context.Context, emit func(input.Scan)) error {
	r.cancel()
	emit(r.scan)
	return nil
}

func (r *cancelReader) Describe() string { return "cancel" }

type recInputMeter struct {
	up       map[string]bool
	reads    map[string]int
	verdicts []string
}

func (m *recInputMeter) InputUp(name string, up bool) { m.up[name] = up }
func (m *recInputMeter) InputRead(name string)        { m.reads[name]++ }
func (m *recInputMeter) InputVerdict(name, reason string, accept bool) {
	m.verdicts = append(m.verdicts, name+" "+reason)
}

// A scanner that is away shows the fault pattern as a lost camera does,
// and clears it when it is back; a kiosk with scanners only has no camera
// to miss.
func TestMonitorInputsDriveTheFault(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	sig := &recSignal{}
	im := &recInputMeter{up: map[string]bool{}, reads: map[string]int{}}
	m := &Monitor{Verifier: &healthVar{h: verify.Health{ClockTrusted: true}}, Signal: sig, Now: clk.now, NoCamera: true, InputMeter: im}
	m.AddInput("door", "serial", "/dev/serial/by-id/x")
	m.AddInput("desk", "hid", "/dev/input/by-id/y")
	if ps := m.Problems(); len(ps) != 2 || !strings.Contains(ps[0], "door") || !strings.Contains(ps[0], "not open") {
		t.Errorf("before the inputs open: %q, want both not open, door first", ps)
	}
	m.InputState("door", input.State{Up: true, Detail: "serial /dev/x"})
	m.InputState("desk", input.State{Up: true, Detail: "/dev/y"})
	if ps := m.Problems(); len(ps) != 0 {
		t.Errorf("both up: problems %q (a scanner-only kiosk has no camera to miss)", ps)
	}
	if f := sig.fault; len(f) == 0 || f[len(f)-1] {
		t.Errorf("fault %v after both came up, want off", f)
	}
	m.InputState("desk", input.State{Detail: "hid: device gone: EOF", Err: errors.New("gone")})
	if f := sig.fault; !f[len(f)-1] {
		t.Errorf("fault %v after a scanner went away, want on at once", f)
	}
	if ps := m.Problems(); len(ps) != 1 || ps[0] != "input desk (hid) down: hid: device gone: EOF" {
		t.Errorf("problems %q", ps)
	}
	m.InputState("desk", input.State{Up: true, Detail: "/dev/y"})
	if f := sig.fault; f[len(f)-1] {
		t.Errorf("fault %v after the scanner came back, want off", f)
	}
	m.InputRead("door", clk.now())
	m.Verdict(verify.Verdict{Reason: verify.OK, Accept: true, Input: "door"})
	st := m.Inputs()
	if len(st) != 2 || st[0].Name != "door" || st[0].Reads != 1 || !st[0].Up || st[1].Kind != "hid" {
		t.Errorf("Inputs() = %+v", st)
	}
	if !im.up["door"] || !im.up["desk"] || im.reads["door"] != 1 || len(im.verdicts) != 1 || im.verdicts[0] != "door ok" {
		t.Errorf("meter heard up %v reads %v verdicts %v", im.up, im.reads, im.verdicts)
	}
	if !m.Alive(time.Second) {
		t.Error("a scanner-only kiosk is never stalled for want of frames")
	}
}
