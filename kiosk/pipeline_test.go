package kiosk

import (
	"context"
	"image"
	"image/color"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// qrFrame renders text as a QR code in a 320x240 grey frame; "" is a frame
// with no code.
func qrFrame(t *testing.T, text string) scanner.Frame {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for i := range img.Pix {
		img.Pix[i] = 230
	}
	if text != "" {
		m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 200, 200, nil)
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < m.GetHeight(); y++ {
			for x := 0; x < m.GetWidth(); x++ {
				if m.Get(x, y) {
					img.SetGray(60+x, 20+y, color.Gray{Y: 20})
				}
			}
		}
	}
	return scanner.FrameFromImage(img, nil)
}

// scriptSource plays frames one by one, advancing the fake clock by step
// before each.
type scriptSource struct {
	frames []scanner.Frame
	clock  *fakeClock
	step   time.Duration
}

func (s *scriptSource) Run(ctx context.Context, fn func(scanner.Frame)) error {
	for i, f := range s.frames {
		if ctx.Err() != nil {
			return nil
		}
		s.clock.advance(s.step)
		f.Seq = uint64(i + 1)
		f.Y = append([]byte(nil), f.Y...) // the script reuses frames
		fn(f)
		// The frame's buffer is the source's again: poison it, so a
		// pipeline that kept it would see garbage.
		for j := range f.Y {
			f.Y[j] = 0
		}
	}
	return nil
}

func (s *scriptSource) Describe() string { return "script" }

type fakeClock struct {
	mu stdsync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeVerifier accepts the first time it sees a code and rejects after.
type fakeVerifier struct {
	seen   map[string]int
	checks []string
	junk   int
	inputs []string // CheckOpts.Input of every call
}

func (v *fakeVerifier) Check(_ context.Context, code string, o verify.CheckOpts) verify.Verdict {
	v.checks = append(v.checks, code)
	v.inputs = append(v.inputs, o.Input)
	v.seen[code]++
	if v.seen[code] == 1 {
		return verify.Verdict{Accept: true, Reason: verify.OK, Hash: strings.Repeat("a", 64)}
	}
	return verify.Verdict{Reason: verify.AlreadyUsed, Hash: strings.Repeat("a", 64)}
}

func (v *fakeVerifier) NotACode(_ context.Context, o ...verify.CheckOpts) verify.Verdict {
	v.junk++
	v.inputs = append(v.inputs, o[0].Input)
	return verify.Verdict{Reason: verify.NotACode}
}

func (v *fakeVerifier) Health(time.Time) verify.Health { return verify.Health{ClockTrusted: true} }

type recSignal struct {
	mu    stdsync.Mutex
	shown []gpio.Pattern
	fault []bool
}

func (s *recSignal) Show(p gpio.Pattern) { s.mu.Lock(); s.shown = append(s.shown, p); s.mu.Unlock() }
func (s *recSignal) SetFault(on bool)    { s.mu.Lock(); s.fault = append(s.fault, on); s.mu.Unlock() }
func (s *recSignal) Close() error        { return nil }

func TestPipelineOneVerdictPerPresentation(t *testing.T) {
	codeA := strings.Repeat("ab", 32)
	codeB := strings.Repeat("CD", 32) // upper case: the payload rule normalizes it
	a, b := qrFrame(t, codeA), qrFrame(t, codeB)
	url := qrFrame(t, "https://example.com/?code="+codeA)
	junk := qrFrame(t, "WIFI:S:venue;T:WPA;P:hunter2;;")
	none := qrFrame(t, "")

	// 100 ms per frame, rearm 300 ms.
	seq := []scanner.Frame{
		a, a, a, a, // held in view: one verdict
		none, // gone 100 ms: not yet re-armed
		a,    // back too soon: still the same presentation
		none, none, none, none,
		a,          // re-armed: a second verdict (already used)
		junk, junk, // a poster: one not-a-code verdict
		b, none, url, // B, then A via the URL form (A was last seen 600 ms ago)
	}
	clk := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	ver := &fakeVerifier{seen: map[string]int{}}
	sig := &recSignal{}
	var verdicts []verify.Verdict
	p := &Pipeline{
		Source:   &scriptSource{frames: seq, clock: clk, step: 100 * time.Millisecond},
		Decoder:  scanner.NewDecoder(scanner.DecoderOptions{}),
		Verifier: ver,
		Signal:   sig,
		Rearm:    300 * time.Millisecond,
		Observer: observerFunc(func(v verify.Verdict) { verdicts = append(verdicts, v) }),
		Now:      clk.now,
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantChecks := []string{codeA, codeA, strings.ToLower(codeB), codeA}
	if strings.Join(ver.checks, ",") != strings.Join(wantChecks, ",") {
		t.Errorf("checks = %q, want %q", ver.checks, wantChecks)
	}
	if ver.junk != 1 {
		t.Errorf("not-a-code verdicts = %d, want 1", ver.junk)
	}
	wantShown := []gpio.Pattern{gpio.Accept, gpio.Reject, gpio.Reject, gpio.Accept, gpio.Reject}
	if len(sig.shown) != len(wantShown) {
		t.Fatalf("shown %v, want %v", sig.shown, wantShown)
	}
	for i := range wantShown {
		if sig.shown[i] != wantShown[i] {
			t.Fatalf("shown %v, want %v", sig.shown, wantShown)
		}
	}
	if len(verdicts) != len(wantShown) {
		t.Errorf("observer heard %d verdicts, want %d", len(verdicts), len(wantShown))
	}
}

type observerFunc func(verify.Verdict)

func (f observerFunc) Frame(scanner.Frame, time.Duration, bool) {}
func (f observerFunc) Verdict(v verify.Verdict)                 { f(v) }

func TestMonitorFaultFollowsHealth(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	h := &healthVar{h: verify.Health{ClockTrusted: true}}
	sig := &recSignal{}
	m := &Monitor{Verifier: h, Signal: sig, Now: clk.now}
	m.CameraState(scanner.State{Up: true, Detail: "test"})
	m.Frame(scanner.Frame{}, time.Millisecond, false)
	if ps := m.Problems(); len(ps) != 0 {
		t.Fatalf("problems %v on a healthy lane", ps)
	}
	cases := []struct {
		name  string
		set   func()
		fault bool
	}{
		{"stale cache", func() { h.set(verify.Health{Stale: true, CacheAge: 80 * time.Hour, ClockTrusted: true}) }, true},
		{"recovered", func() { h.set(verify.Health{ClockTrusted: true}); m.Frame(scanner.Frame{}, 0, false) }, false},
		{"clock untrusted", func() { h.set(verify.Health{}) }, true},
		{"camera down", func() { h.set(verify.Health{ClockTrusted: true}); m.CameraState(scanner.State{Up: false}) }, true},
		{"camera back", func() { m.CameraState(scanner.State{Up: true}); m.Frame(scanner.Frame{}, 0, false) }, false},
		{"camera silent", func() { clk.advance(11 * time.Second) }, true},
	}
	for _, c := range cases {
		c.set()
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Watch evaluates once, then sees ctx done
		m.Watch(ctx, time.Hour, nil)
		got := sig.fault[len(sig.fault)-1]
		if got != c.fault {
			t.Errorf("%s: fault %v, want %v (problems %v)", c.name, got, c.fault, m.Problems())
		}
	}
	if !m.Alive(time.Minute) || m.Alive(5*time.Second) {
		t.Errorf("Alive: a camera silent for 11 s is alive within a minute, not within 5 s")
	}
}

type healthVar struct {
	mu stdsync.Mutex
	h  verify.Health
}

func (v *healthVar) set(h verify.Health) { v.mu.Lock(); v.h = h; v.mu.Unlock() }
func (v *healthVar) Health(time.Time) verify.Health {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.h
}

// cancelSource delivers its frame after ctx is done, as a V4L2 source does
// with the frame being decoded when SIGTERM arrives.
type cancelSource struct {
	frame  scanner.Frame
	cancel context.CancelFunc
}

func (s *cancelSource) Run(ctx context.Context, fn func(scanner.Frame)) error {
	s.cancel()
	fn(s.frame)
	return ctx.Err()
}

func (s *cancelSource) Describe() string { return "cancel" }

func TestPipelineDecidesNothingAfterShutdownBegins(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"valid code", strings.Repeat("ab", 32)},
		{"junk QR", "https://example.com/menu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			v := &fakeVerifier{seen: map[string]int{}}
			sig := &recSignal{}
			p := &Pipeline{Source: &cancelSource{frame: qrFrame(t, tc.text), cancel: cancel},
				Decoder: scanner.NewDecoder(scanner.DecoderOptions{}), Verifier: v, Signal: sig, Rearm: time.Second}
			if err := p.Run(ctx); err != nil {
				t.Fatalf("Run after cancel: %v, want nil (a stop is not a failure)", err)
			}
			if len(v.checks) != 0 || v.junk != 0 {
				t.Errorf("verifier called %d times (+%d junk) after shutdown began; want none", len(v.checks), v.junk)
			}
			if len(sig.shown) != 0 {
				t.Errorf("outputs shown %v after shutdown began; want none", sig.shown)
			}
		})
	}
}

// The fault indication follows the camera at once, with no health tick in
// between: unplug sets it, replug clears it, and frames after a silence clear
// the silence's fault.
func TestMonitorCameraEventsDriveFaultAtOnce(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	sig := &recSignal{}
	m := &Monitor{Verifier: &healthVar{h: verify.Health{ClockTrusted: true}}, Signal: sig, Now: clk.now}
	steps := []struct {
		name  string
		do    func()
		fault []bool // the SetFault calls so far
	}{
		{"first state", func() { m.CameraState(scanner.State{Up: true}); m.Frame(scanner.Frame{}, 0, false) }, []bool{false}},
		{"same state again", func() { m.CameraState(scanner.State{Up: true}) }, []bool{false}},
		{"unplugged", func() { clk.advance(time.Second); m.CameraState(scanner.State{Up: false}) }, []bool{false, true}},
		{"replugged after a long time", func() { clk.advance(time.Minute); m.CameraState(scanner.State{Up: true}) }, []bool{false, true, false}},
		{"first frame", func() { m.Frame(scanner.Frame{}, 0, false) }, []bool{false, true, false}},
		{"silent", func() { clk.advance(11 * time.Second); m.updateFault() }, []bool{false, true, false, true}},
		{"frames again", func() { m.Frame(scanner.Frame{}, 0, false) }, []bool{false, true, false, true, false}},
	}
	for _, s := range steps {
		s.do()
		sig.mu.Lock()
		got := slices.Clone(sig.fault)
		sig.mu.Unlock()
		if !slices.Equal(got, s.fault) {
			t.Fatalf("%s: SetFault calls %v, want %v", s.name, got, s.fault)
		}
	}
}

// gapSource delivers frames with the given Seq numbers, each captured age
// before it is handed over (as a frame that waited in the driver is).
type gapSource struct {
	frames []scanner.Frame
	seqs   []uint64
	age    time.Duration
}

func (s *gapSource) Run(ctx context.Context, fn func(scanner.Frame)) error {
	for i, f := range s.frames {
		f.Seq = s.seqs[i]
		f.Time = time.Now().Add(-s.age)
		fn(f)
	}
	return nil
}

func (s *gapSource) Describe() string { return "gaps" }

// slowDecoder is the real decoder made slower by a fixed cost.
type slowDecoder struct {
	d    *scanner.Decoder
	cost time.Duration
}

func (s slowDecoder) Decode(f scanner.Frame) (string, bool) {
	time.Sleep(s.cost)
	return s.d.Decode(f)
}

type recMeter struct {
	mu        stdsync.Mutex
	dropped   uint64
	latencies []time.Duration
	inputs    []string // the input of each latency
}

func (m *recMeter) Verdict(string, bool)        {}
func (m *recMeter) DecodeLatency(time.Duration) {}
func (m *recMeter) Frame()                      {}
func (m *recMeter) CameraUp(bool)               {}
func (m *recMeter) FramesDropped(n uint64)      { m.mu.Lock(); m.dropped += n; m.mu.Unlock() }
func (m *recMeter) VerdictLatency(input string, d time.Duration) {
	m.mu.Lock()
	m.latencies = append(m.latencies, d)
	m.inputs = append(m.inputs, input)
	m.mu.Unlock()
}

// TestPipelineCountsDropsAndLatencyFromCapture: gaps in Seq are counted as
// dropped frames (a Seq that goes back is a new source, not a drop), and a
// verdict's latency runs from the frame's capture, so it includes the time
// the frame waited and the decode, not only what came after decoding.
func TestPipelineCountsDropsAndLatencyFromCapture(t *testing.T) {
	const (
		age  = 80 * time.Millisecond
		cost = 20 * time.Millisecond
	)
	code := strings.Repeat("ab", 32)
	empty, withCode := qrFrame(t, ""), qrFrame(t, code)
	src := &gapSource{
		frames: []scanner.Frame{empty, empty, empty, withCode, empty, empty},
		seqs:   []uint64{1, 2, 6, 9, 1, 3}, // 3 + 2 dropped, a restart, 1 dropped
		age:    age,
	}
	meter := &recMeter{}
	mon := &Monitor{Verifier: &fakeVerifier{seen: map[string]int{}}, Meter: meter}
	p := &Pipeline{Source: src, Decoder: slowDecoder{scanner.NewDecoder(scanner.DecoderOptions{}), cost},
		Verifier: &fakeVerifier{seen: map[string]int{}}, Rearm: time.Second, Observer: mon}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := mon.Stats()
	if st.FramesDropped != 6 || meter.dropped != 6 {
		t.Errorf("dropped: status %d, metrics %d; want 6", st.FramesDropped, meter.dropped)
	}
	if len(meter.latencies) != 1 {
		t.Fatalf("%d verdict latencies, want 1", len(meter.latencies))
	}
	if l := meter.latencies[0]; l < age+cost {
		t.Errorf("verdict latency %v: less than the frame's age %v plus the decode %v, so not from capture", l, age, cost)
	}
	if st.VerdictLatencyP50 != meter.latencies[0] || st.VerdictLatencyP95 != meter.latencies[0] {
		t.Errorf("status latency p50 %v p95 %v, want %v", st.VerdictLatencyP50, st.VerdictLatencyP95, meter.latencies[0])
	}
}
