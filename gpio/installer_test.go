package gpio

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kioskd/kioskd/gpio/gpiosim"
)

// syncBuffer is a bytes.Buffer written by Test's goroutines.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

func TestInstallerTestCyclesEachOutput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := gpiosim.NewRecorder(nil)
		out := &syncBuffer{mu: make(chan struct{}, 1)}
		t0 := time.Now()
		done := make(chan error)
		go func() { done <- Test(t.Context(), gpioConfig(t, fullYAML), Options{Sim: rec}, out) }()
		time.Sleep(2200 * time.Millisecond) // during the reject LED's second
		rec.SetInput("GPIO24", true)        // the installer opens the door
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// Each output on for exactly 1s, one after the other, 0.5s apart.
		s, ms := time.Second, time.Millisecond
		for i, l := range []string{"GPIO27", "GPIO22", "GPIO18", "GPIO17"} {
			on := time.Duration(i) * 1500 * ms
			want := []edge{{on, true}, {on + s, false}}
			var got []edge
			for _, tr := range rec.Of(l)[1:] {
				got = append(got, edge{tr.At.Sub(t0), tr.Active})
			}
			if !sameEdges(got, want) {
				t.Errorf("%s = %v, want %v", l, got, want)
			}
			if rec.Requested(l) {
				t.Errorf("%s still requested", l)
			}
		}
		text := out.String()
		for _, want := range []string{
			"output relay        GPIO17         ON  (pin low)", // active-low: what a meter shows
			"output relay        GPIO17         OFF (pin high)",
			"output accept_led   GPIO27         ON  (pin high)",
			"input  door_contact GPIO24         door opened",
			"done: every output back at its inactive level",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("output lacks %q:\n%s", want, text)
			}
		}
		if rec.Requested("GPIO24") {
			t.Error("door contact still requested")
		}
	})
}

func TestInstallerTestCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := gpiosim.NewRecorder(nil)
		ctx, cancel := context.WithTimeout(t.Context(), 4700*time.Millisecond) // during the relay's second
		defer cancel()
		var out syncBuffer
		out.mu = make(chan struct{}, 1)
		err := Test(ctx, gpioConfig(t, fullYAML), Options{Sim: rec}, &out)
		if err == nil {
			t.Fatal("Test returned nil after its context was cancelled")
		}
		if high, _ := rec.Level("GPIO17"); !high {
			t.Error("active-low relay left energised (pin low) after cancel")
		}
		if rec.Requested("GPIO17") {
			t.Error("relay still requested after cancel")
		}
	})
}

func TestInstallerTestNone(t *testing.T) {
	var out bytes.Buffer
	cfg := gpioConfig(t, "gpio: {driver: none}\n")
	if err := Test(t.Context(), cfg, Options{}, &out); err != nil || !strings.Contains(out.String(), "none") {
		t.Errorf("Test = %v, %q", err, out.String())
	}
}

func TestRelease(t *testing.T) {
	rec := gpiosim.NewRecorder(nil)
	if err := Release(gpioConfig(t, fullYAML), Options{Sim: rec}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"GPIO17", "GPIO27"} {
		trs := rec.Of(l)
		if len(trs) != 1 || !trs[0].Initial || trs[0].Active || rec.Requested(l) {
			t.Errorf("%s: %v, requested %v; want one inactive request, released", l, trs, rec.Requested(l))
		}
	}
}
