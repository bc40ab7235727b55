package gpio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kioskd/kioskd/gpio/gpiosim"
)

// Every test here runs in a synctest bubble: time.Now and the timers are the
// bubble's fake clock, which jumps forward only when every goroutine of the
// test is blocked. Durations are therefore exact and no test sleeps.

const fullYAML = `
gpio:
  driver: sim
  accept_led: {line: GPIO27}
  reject_led: {line: GPIO22}
  buzzer: {line: GPIO18}
  relay: {line: GPIO17, active_low: true, pulse: 3s}
  exit_button: {line: GPIO23, active_low: true, debounce: 50ms}
  door_contact: {line: GPIO24}
  accept_for: 1500ms
  reject_for: 1500ms
`

// gpioConfig reads a gpio: block as the config file spells it.
func gpioConfig(t testing.TB, doc string) Config {
	t.Helper()
	var c struct {
		GPIO Config `yaml:"gpio"`
	}
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("gpio config: %v", err)
	}
	return c.GPIO
}

// kiosk is an Outputs on a sim recorder, with the inputs' events collected.
type kiosk struct {
	*Outputs
	rec    *gpiosim.Recorder
	t0     time.Time
	skip   map[string]int // transitions per line made before the test began
	mu     sync.Mutex
	events []InputEvent // written by the input goroutines
}

func (k *kiosk) inputEvents() []InputEvent {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]InputEvent(nil), k.events...)
}

func openKiosk(t *testing.T, ctx context.Context, yaml string) *kiosk {
	t.Helper()
	k := &kiosk{rec: gpiosim.NewRecorder(nil), t0: time.Now()}
	out, err := Open(ctx, gpioConfig(t, yaml), Options{Sim: k.rec, OnInput: func(ev InputEvent) { k.mu.Lock(); k.events = append(k.events, ev); k.mu.Unlock() }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	k.Outputs = out
	// Let Starting show before ending it: otherwise whether its first levels
	// reach the lines depends on which goroutine runs first, and every test
	// is about what comes next.
	synctest.Wait()
	out.Show(Idle)
	synctest.Wait()
	k.skip = map[string]int{}
	for _, tr := range k.rec.Transitions() {
		k.skip[tr.Line]++
	}
	return k
}

// edge is one transition relative to the kiosk's start, in what it means.
type edge struct {
	at     time.Duration
	active bool
}

// edges returns a line's transitions after openKiosk returned.
func (k *kiosk) edges(line string) []edge {
	var out []edge
	for i, tr := range k.rec.Of(line) {
		if i >= k.skip[line] && !tr.Initial {
			out = append(out, edge{tr.At.Sub(k.t0), tr.Active})
		}
	}
	return out
}

func sameEdges(a, b []edge) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestSafeLevelFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := gpiosim.NewRecorder(nil)
		out, err := Open(t.Context(), gpioConfig(t, fullYAML), Options{Sim: rec})
		if err != nil {
			t.Fatal(err)
		}
		out.Show(Accept) // as early as a caller could
		synctest.Wait()
		time.Sleep(10 * time.Second)
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		trs := rec.Transitions()
		seen := map[string]bool{}
		for i, tr := range trs {
			if !seen[tr.Line] {
				seen[tr.Line] = true
				if !tr.Initial || tr.Active {
					t.Errorf("first transition of %s = %v, want its inactive level at request", tr.Line, tr)
				}
			}
			if tr.Initial && i >= 4 {
				t.Errorf("transition %d (%v) is a request after the first write", i, tr)
			}
		}
		if len(seen) != 4 {
			t.Errorf("lines seen = %v, want the 4 outputs", seen)
		}
		// The relay is requested first of all.
		if trs[0].Line != "GPIO17" {
			t.Errorf("first line requested = %s, want the relay GPIO17", trs[0].Line)
		}
	})
}

func TestActiveLowInversion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		defer k.Close()
		if high, _ := k.rec.Level("GPIO17"); !high {
			t.Fatal("active-low relay at rest: pin low, want high (inactive)")
		}
		if high, _ := k.rec.Level("GPIO27"); high {
			t.Fatal("active-high accept LED at rest: pin high, want low")
		}
		k.Show(Accept)
		synctest.Wait()
		if high, _ := k.rec.Level("GPIO17"); high {
			t.Error("active-low relay during a pulse: pin high, want low (energised)")
		}
		if high, _ := k.rec.Level("GPIO27"); !high {
			t.Error("accept LED during accept: pin low, want high")
		}
	})
}

func TestAcceptPulseTiming(t *testing.T) {
	tests := []struct {
		name    string
		accepts []time.Duration // when Show(Accept) is called, from start
		relay   []edge
	}{
		{"one accept", []time.Duration{0}, []edge{{0, true}, {3 * time.Second, false}}},
		{"second accept extends", []time.Duration{0, 2 * time.Second}, []edge{{0, true}, {5 * time.Second, false}}},
		{"accept after close reopens", []time.Duration{0, 4 * time.Second}, []edge{{0, true}, {3 * time.Second, false}, {4 * time.Second, true}, {7 * time.Second, false}}},
		{"burst", []time.Duration{0, 0, 0, time.Second}, []edge{{0, true}, {4 * time.Second, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k := openKiosk(t, t.Context(), fullYAML)
				for _, at := range tt.accepts {
					time.Sleep(time.Until(k.t0.Add(at)))
					k.Show(Accept)
				}
				// The caller stalls from here on: the release must come anyway.
				time.Sleep(time.Minute)
				if got := k.edges("GPIO17"); !sameEdges(got, tt.relay) {
					t.Errorf("relay = %v, want %v", got, tt.relay)
				}
				if err := k.Close(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestRejectNeverTouchesTheRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		for _, p := range []Pattern{Reject, Fault, Starting, Idle, Reject, Reject} {
			k.Show(p)
			time.Sleep(700 * time.Millisecond)
		}
		k.SetFault(true) // fail_mode secure (default): no relay either
		time.Sleep(10 * time.Second)
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		if got := k.edges("GPIO17"); len(got) != 0 {
			t.Errorf("relay moved: %v", got)
		}
		if len(k.edges("GPIO22")) == 0 {
			t.Error("the red LED never lit: the test did not test anything")
		}
	})
}

func TestReleaseOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		k.Show(Accept)
		time.Sleep(time.Second)
		// Close returns only once the release is written.
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := k.edges("GPIO17"), []edge{{0, true}, {time.Second, false}}; !sameEdges(got, want) {
			t.Errorf("relay = %v, want %v", got, want)
		}
		for _, l := range []string{"GPIO17", "GPIO27", "GPIO22", "GPIO18", "GPIO23", "GPIO24"} {
			if k.rec.Requested(l) {
				t.Errorf("%s still requested after Close", l)
			}
		}
		if err := k.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		k.Show(Accept) // after Close: must not panic nor write
		synctest.Wait()
		if got := k.edges("GPIO17"); len(got) != 2 {
			t.Errorf("relay moved after Close: %v", got)
		}
	})
}

func TestReleaseOnContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		k := openKiosk(t, ctx, fullYAML)
		k.Show(Accept)
		time.Sleep(500 * time.Millisecond)
		cancel()
		<-k.Done()
		if got, want := k.edges("GPIO17"), []edge{{0, true}, {500 * time.Millisecond, false}}; !sameEdges(got, want) {
			t.Errorf("relay = %v, want %v", got, want)
		}
		if high, _ := k.rec.Level("GPIO27"); high {
			t.Error("accept LED left lit after cancel")
		}
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if k.rec.Requested("GPIO23") {
			t.Error("exit button still requested after cancel")
		}
	})
}

// signature is what a pattern does to the LEDs and buzzer in its first 3s.
func signature(t *testing.T, p Pattern) string {
	var sig string
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		k.Show(p)
		time.Sleep(3 * time.Second)
		if err := k.Close(); err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"GPIO27", "GPIO22", "GPIO18"} {
			var e []edge
			for _, x := range k.edges(l) {
				if x.at < 3*time.Second {
					e = append(e, x)
				}
			}
			sig += fmt.Sprintf("%s:%v ", l, e)
		}
	})
	return sig
}

func TestPatternsDistinct(t *testing.T) {
	sigs := map[string]Pattern{}
	for _, p := range []Pattern{Starting, Accept, Reject, Fault} {
		s := signature(t, p)
		if strings.Count(s, "true") == 0 {
			t.Errorf("%v shows nothing: %s", p, s)
		}
		if q, dup := sigs[s]; dup {
			t.Errorf("%v looks like %v: %s", p, q, s)
		}
		sigs[s] = p
		t.Logf("%-8v %s", p, s)
	}
	// Sound alone tells them apart too (someone not looking at the kiosk).
	beeps := map[string]Pattern{}
	for s, p := range sigs {
		b := s[strings.Index(s, "GPIO18"):]
		if q, dup := beeps[b]; dup {
			t.Errorf("%v sounds like %v: %s", p, q, b)
		}
		beeps[b] = p
	}
}

func TestPatternTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		k.Show(Reject)
		time.Sleep(5 * time.Second)
		k.Close()
		ms := time.Millisecond
		if got, want := k.edges("GPIO22"), []edge{{0, true}, {1500 * ms, false}}; !sameEdges(got, want) {
			t.Errorf("red = %v, want %v", got, want)
		}
		if got, want := k.edges("GPIO18"), []edge{{0, true}, {250 * ms, false}, {400 * ms, true}, {650 * ms, false}}; !sameEdges(got, want) {
			t.Errorf("buzzer = %v, want two beeps %v", got, want)
		}
		if got := k.edges("GPIO27"); len(got) != 0 {
			t.Errorf("green moved on a reject: %v", got)
		}
	})
}

func TestStartingUntilShown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := gpiosim.NewRecorder(nil)
		t0 := time.Now()
		out, err := Open(t.Context(), gpioConfig(t, fullYAML), Options{Sim: rec})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		n := len(rec.Of("GPIO27"))
		if n < 30 {
			t.Errorf("green changed %d times in 10s of Starting, want a steady blink", n)
		}
		out.Show(Idle)
		synctest.Wait()
		time.Sleep(10 * time.Second)
		if m := len(rec.Of("GPIO27")); m > n+2 { // at most: on at 10s, off at Idle
			t.Errorf("green kept blinking after Show(Idle): %d more changes", m-n)
		}
		out.Close()
		for _, l := range []string{"GPIO27", "GPIO22"} {
			if high, _ := rec.Level(l); high {
				t.Errorf("%s lit after Close", l)
			}
		}
		_ = t0
	})
}

func TestStandingFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		k.SetFault(true)
		time.Sleep(4 * time.Second)
		k.Show(Accept) // a pattern pre-empts the blink, the blink resumes after
		time.Sleep(3 * time.Second)
		k.SetFault(false)
		time.Sleep(10 * time.Second)
		k.Close()
		ms := time.Millisecond
		want := []edge{
			{0, true}, {500 * ms, false}, {2000 * ms, true}, {2500 * ms, false}, // slow blink
			{4000 * ms, true}, {4000 * ms, false}, // due at 4s, pre-empted by the accept at once
			{6000 * ms, true}, {6500 * ms, false}, // accept over at 5.5s, blink back on its phase
		}
		got := k.edges("GPIO22")
		// The blink and the accept fall at the same instant at 4s: the
		// goroutine may see the accept first, in which case there is no
		// on/off pair there.
		if !sameEdges(got, want) && !sameEdges(got, append(want[:4:4], want[6:]...)) {
			t.Errorf("red = %v, want %v", got, want)
		}
		if got := k.edges("GPIO17"); len(got) != 2 {
			t.Errorf("relay = %v, want one pulse (secure mode: the fault does not move it)", got)
		}
	})
}

func TestFailModeSafe(t *testing.T) {
	yaml := strings.Replace(fullYAML, "pulse: 3s}", "pulse: 3s, fail_mode: safe}", 1)
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), yaml)
		time.Sleep(time.Second)
		k.SetFault(true)
		time.Sleep(time.Minute) // held as long as the fault lasts
		k.Show(Accept)          // changes nothing for the relay
		time.Sleep(5 * time.Second)
		k.SetFault(false)
		time.Sleep(time.Second)
		k.SetFault(true)
		time.Sleep(time.Second)
		if err := k.Close(); err != nil { // shutdown releases even in safe mode
			t.Fatal(err)
		}
		s := time.Second
		want := []edge{{s, true}, {66 * s, false}, {67 * s, true}, {68 * s, false}}
		if got := k.edges("GPIO17"); !sameEdges(got, want) {
			t.Errorf("relay = %v, want %v", got, want)
		}
	})
}

func TestFaultClearedDuringPulseKeepsThePulse(t *testing.T) {
	yaml := strings.Replace(fullYAML, "pulse: 3s}", "pulse: 3s, fail_mode: safe}", 1)
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), yaml)
		k.SetFault(true)
		k.Show(Accept)
		time.Sleep(time.Second)
		k.SetFault(false) // the accept's pulse still has 2s to run
		time.Sleep(10 * time.Second)
		k.Close()
		if got, want := k.edges("GPIO17"), []edge{{0, true}, {3 * time.Second, false}}; !sameEdges(got, want) {
			t.Errorf("relay = %v, want %v", got, want)
		}
	})
}

func TestExitButtonDebounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		press := func(down bool) { k.rec.SetInput("GPIO23", !down) } // active-low button
		time.Sleep(time.Second)                                      // idle: the line floats to its pull-up, not pressed
		// A 20ms glitch is no press.
		press(true)
		time.Sleep(20 * time.Millisecond)
		press(false)
		time.Sleep(time.Second)
		synctest.Wait()
		if len(k.inputEvents()) != 0 || len(k.edges("GPIO17")) != 0 {
			t.Fatalf("glitch reported: %v, relay %v", k.events, k.edges("GPIO17"))
		}
		// A bouncing press: three bounces 10ms apart, then held.
		pressAt := time.Since(k.t0)
		for range 3 {
			press(true)
			time.Sleep(10 * time.Millisecond)
			press(false)
			time.Sleep(10 * time.Millisecond)
		}
		press(true)
		time.Sleep(500 * time.Millisecond)
		press(false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		k.Close()
		var got []string
		for _, ev := range k.inputEvents() {
			got = append(got, ev.String())
		}
		if want := []string{"exit button pressed", "exit button released"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events = %v, want %v", got, want)
		}
		// The press counts from its last bounce and opens the door 50ms later.
		held := pressAt + 60*time.Millisecond
		if at := k.inputEvents()[0].At.Sub(k.t0); at != held {
			t.Errorf("press At = %v, want %v", at, held)
		}
		open := held + 50*time.Millisecond
		if got, want := k.edges("GPIO17"), []edge{{open, true}, {open + 3*time.Second, false}}; !sameEdges(got, want) {
			t.Errorf("relay = %v, want a pulse %v", got, want)
		}
	})
}

func TestDoorContactEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		k.rec.SetInput("GPIO24", true) // door opens
		time.Sleep(time.Second)
		k.rec.SetInput("GPIO24", false)
		time.Sleep(time.Second)
		synctest.Wait()
		k.Close()
		var got []string
		for _, ev := range k.inputEvents() {
			got = append(got, fmt.Sprintf("%s %s %s", ev.Kind, ev.Line, ev))
		}
		if want := []string{"door_contact GPIO24 door opened", "door_contact GPIO24 door closed"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events = %v, want %v", got, want)
		}
		if len(k.edges("GPIO17")) != 0 {
			t.Error("the door contact moved the relay")
		}
	})
}

func TestDriverNone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out, err := Open(t.Context(), gpioConfig(t, strings.Replace(fullYAML, "driver: sim", "driver: none", 1)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		out.Show(Accept)
		out.SetFault(true)
		time.Sleep(time.Minute)
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenErrorsNameTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := gpiosim.NewRecorder(nil)
		if _, err := rec.RequestInput("GPIO24", gpiosim.BiasNone); err != nil { // someone else holds the door contact line
			t.Fatal(err)
		}
		_, err := Open(t.Context(), gpioConfig(t, fullYAML), Options{Sim: rec})
		if !errors.Is(err, gpiosim.ErrBusy) || !strings.Contains(err.Error(), "gpio.door_contact.line") {
			t.Fatalf("Open = %v, want busy naming gpio.door_contact.line", err)
		}
		// Everything requested before the failure is released, inactive.
		for _, l := range []string{"GPIO17", "GPIO27", "GPIO22", "GPIO18", "GPIO23"} {
			if rec.Requested(l) {
				t.Errorf("%s left requested after a failed Open", l)
			}
		}
		if high, _ := rec.Level("GPIO17"); !high {
			t.Error("active-low relay not left inactive (high) after a failed Open")
		}
	})
}

// failingLine fails its first n writes.
type failingLine struct {
	PhysOut
	n int
}

func (f *failingLine) Set(high bool) error {
	if f.n > 0 {
		f.n--
		return errors.New("EIO")
	}
	return f.PhysOut.Set(high)
}

func TestFailedWriteIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := gpiosim.NewRecorder(nil)
		p, err := rec.RequestOutput("GPIO17", "relay", false, false)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		o := &Outputs{log: Options{}.logger(), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), stopInputs: func() {}}
		o.lines[roleRelay] = line{p: &failingLine{PhysOut: p, n: 2}}
		go o.run(t.Context(), state{pulse: 3 * time.Second, acceptFor: time.Second, rejectFor: time.Second})
		o.Show(Accept)
		time.Sleep(10 * time.Second)
		o.Close()
		var got []edge
		for _, tr := range rec.Of("GPIO17")[1:] {
			got = append(got, edge{tr.At.Sub(t0), tr.Active})
		}
		// Failed writes at 0 and 100ms (retry interval); the next wake-up is
		// the accept beep's end at 150ms, where the write lands. The pulse
		// counts from there: the door still gets its full 3 s.
		if want := []edge{{150 * time.Millisecond, true}, {3150 * time.Millisecond, false}}; !sameEdges(got, want) {
			t.Errorf("relay = %v, want %v", got, want)
		}
		if s := o.Status(); s.WriteErrors != 2 {
			t.Errorf("WriteErrors = %d, want 2", s.WriteErrors)
		}
	})
}

func TestStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := openKiosk(t, t.Context(), fullYAML)
		if got, want := k.Status().String(), "accept_led=GPIO27, reject_led=GPIO22, buzzer=GPIO18, relay=GPIO17; idle"; got != want {
			t.Errorf("Status = %q, want %q", got, want)
		}
		k.Show(Accept)
		k.SetFault(true)
		synctest.Wait()
		if s := k.Status(); !s.Relay || !s.Fault || s.Pattern != Accept {
			t.Errorf("Status during accept = %+v", s)
		}
		time.Sleep(5 * time.Second)
		if s := k.Status(); s.Relay || s.Pattern != Idle {
			t.Errorf("Status after the pulse = %+v", s)
		}
		k.Close()
		if s := k.Status(); !s.Released || !strings.HasSuffix(s.String(), "; fault indicated; released") {
			t.Errorf("Status after Close = %q", s)
		}
	})
}

func TestStuckOnInputDoesNotBlockTheExitButton(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := gpiosim.NewRecorder(nil)
		unblock := make(chan struct{})
		var calls int
		var mu sync.Mutex
		t0 := time.Now()
		out, err := Open(t.Context(), gpioConfig(t, fullYAML), Options{Sim: rec, OnInput: func(InputEvent) {
			mu.Lock()
			calls++
			mu.Unlock()
			<-unblock // the event recorder is stuck
		}})
		if err != nil {
			t.Fatal(err)
		}
		out.Show(Idle)
		for i := range 3 {
			time.Sleep(time.Until(t0.Add(time.Duration(i+1) * 10 * time.Second)))
			rec.SetInput("GPIO23", false) // pressed (active-low)
			time.Sleep(time.Second)
			rec.SetInput("GPIO23", true)
		}
		time.Sleep(10 * time.Second)
		var ons int
		for _, tr := range rec.Of("GPIO17") {
			if tr.Active {
				ons++
			}
		}
		if ons != 3 {
			t.Errorf("relay opened %d times for 3 presses while OnInput was stuck", ons)
		}
		close(unblock)
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if calls != 6 {
			t.Errorf("OnInput called %d times, want 6 (3 presses, 3 releases, delivered once unstuck)", calls)
		}
	})
}

// slowLine takes d to change its level, as a GPIO write can under load.
type slowLine struct {
	PhysOut
	d time.Duration
}

func (s *slowLine) Set(high bool) error {
	time.Sleep(s.d)
	return s.PhysOut.Set(high)
}

// A slow write neither shortens the door's pulse (it counts from the moment
// the relay line changed) nor delays the relay behind the LEDs.
func TestSlowWritesKeepTheFullPulse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := gpiosim.NewRecorder(nil)
		o := &Outputs{log: Options{}.logger(), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), stopInputs: func() {}}
		for _, l := range []struct {
			r    role
			name string
		}{{roleAcceptLED, "GPIO27"}, {roleRelay, "GPIO17"}} {
			p, err := rec.RequestOutput(l.name, l.r.key(), false, false)
			if err != nil {
				t.Fatal(err)
			}
			o.lines[l.r] = line{p: &slowLine{PhysOut: p, d: 40 * time.Millisecond}}
		}
		t0 := time.Now()
		go o.run(t.Context(), state{pulse: 3 * time.Second, acceptFor: time.Second, rejectFor: time.Second})
		o.Show(Accept)
		time.Sleep(10 * time.Second)
		o.Close()
		edges := func(name string) []edge {
			var got []edge
			for _, tr := range rec.Of(name)[1:] {
				got = append(got, edge{tr.At.Sub(t0), tr.Active})
			}
			return got
		}
		// The relay is written first and lands at 40ms; its release is
		// written at 3.04s and lands 40ms later.
		if got, want := edges("GPIO17"), []edge{{40 * time.Millisecond, true}, {3080 * time.Millisecond, false}}; !sameEdges(got, want) {
			t.Errorf("relay = %v, want %v", got, want)
		}
		if got := edges("GPIO27"); len(got) == 0 || got[0].at != 80*time.Millisecond || !got[0].active {
			t.Errorf("accept LED = %v, want on at 80ms (after the relay)", got)
		}
	})
}
