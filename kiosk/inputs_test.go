package kiosk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// Both kinds of lane name their input in every verifier call: the camera's
// (frames) and a scanner's (text).
func TestPipelineNamesItsInput(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	ver := &fakeVerifier{seen: map[string]int{}}
	p := &Pipeline{Source: &scriptSource{frames: []scanner.Frame{qrFrame(t, strings.Repeat("ab", 32)), qrFrame(t, "junk")}, clock: clk, step: time.Second},
		Decoder: scanner.NewDecoder(scanner.DecoderOptions{}), Verifier: ver, Input: "camera", Now: clk.now, Rearm: time.Second}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	src := &textScript{t0: clk.now()}
	src.reads = append(src.reads, struct {
		at   time.Duration
		text string
	}{0, strings.Repeat("cd", 32)}, struct {
		at   time.Duration
		text string
	}{time.Second, "junk"})
	p = &Pipeline{Text: src, Verifier: ver, Input: "door-scanner", Rearm: time.Second}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ver.inputs, ","); got != "camera,camera,door-scanner,door-scanner" {
		t.Errorf("inputs named %q, want camera twice then door-scanner twice", got)
	}
}

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
	m.InputState("door", scanner.State{Up: true, Detail: "serial /dev/x"})
	m.InputState("desk", scanner.State{Up: true, Detail: "/dev/y"})
	if ps := m.Problems(); len(ps) != 0 {
		t.Errorf("both up: problems %q (a scanner-only kiosk has no camera to miss)", ps)
	}
	if f := sig.fault; len(f) == 0 || f[len(f)-1] {
		t.Errorf("fault %v after both came up, want off", f)
	}
	m.InputState("desk", scanner.State{Detail: "hid: device gone: EOF", Err: errors.New("gone")})
	if f := sig.fault; !f[len(f)-1] {
		t.Errorf("fault %v after a scanner went away, want on at once", f)
	}
	if ps := m.Problems(); len(ps) != 1 || ps[0] != "input desk (hid) down: hid: device gone: EOF" {
		t.Errorf("problems %q", ps)
	}
	m.InputState("desk", scanner.State{Up: true, Detail: "/dev/y"})
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

// A scanner's verdict latency (from the end of its read) is its own: it
// shows in its InputStats and reaches the meter under its name, never in
// the camera's figures (from capture), and the camera's never in its.
func TestMonitorKeepsLatencyPerInput(t *testing.T) {
	meter := &recMeter{}
	m := &Monitor{Verifier: &healthVar{h: verify.Health{ClockTrusted: true}}, Meter: meter}
	m.AddInput("door", "serial", "")
	for _, l := range []struct {
		input string
		d     time.Duration
	}{{"camera", 90 * time.Millisecond}, {"door", 4 * time.Millisecond}, {"door", 6 * time.Millisecond}, {"camera", 110 * time.Millisecond}} {
		m.VerdictLatency(l.input, l.d)
	}
	st := m.Stats()
	if st.VerdictLatencyP50 != 110*time.Millisecond || st.VerdictLatencyP95 != 110*time.Millisecond {
		t.Errorf("camera latency p50 %v p95 %v, want 110ms both (the camera's two only)", st.VerdictLatencyP50, st.VerdictLatencyP95)
	}
	ins := m.Inputs()
	if len(ins) != 1 || ins[0].VerdictLatencyP50 != 6*time.Millisecond || ins[0].VerdictLatencyP95 != 6*time.Millisecond {
		t.Errorf("inputs %+v, want door with p50 and p95 6ms (its two only)", ins)
	}
	if got := strings.Join(meter.inputs, ","); got != "camera,door,door,camera" {
		t.Errorf("meter heard inputs %q", got)
	}
}
