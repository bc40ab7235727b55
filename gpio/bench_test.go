package gpio

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/gpio/gpiosim"
)

// BenchmarkShow is the caller's cost of Show: what the pipeline pays per
// verdict. The owning goroutine runs concurrently.
func BenchmarkShow(b *testing.B) {
	out, err := Open(context.Background(), gpioConfig(b, fullYAML), Options{Sim: gpiosim.NewRecorder(nil)})
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			out.Show(Accept)
		} else {
			out.Show(Reject)
		}
	}
}

// BenchmarkLevels is the owning goroutine's computation per wake-up.
func BenchmarkLevels(b *testing.B) {
	t0 := time.Unix(1000, 0)
	s := state{acceptFor: 1500 * time.Millisecond, rejectFor: 1500 * time.Millisecond, pulse: 3 * time.Second}
	s.setFault(true, t0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := t0.Add(time.Duration(i%4000) * time.Millisecond)
		if i%4000 == 0 {
			s.showPattern(Reject, now)
			s.pulseRelay(now)
		}
		s.levels(now)
	}
}

// BenchmarkPulseAccuracy measures, on the real clock, how late the relay
// goes on after Show(Accept) and how far its on-time is from a 50ms pulse,
// with the sim driver (so: Go's timers and this goroutine design, not a
// kernel). Run with -benchtime=200x; each iteration takes ~50ms.
func BenchmarkPulseAccuracy(b *testing.B) {
	type edge struct {
		at time.Time
		on bool
	}
	ch := make(chan edge, 16)
	rec := gpiosim.NewRecorder(func(t gpiosim.Transition) {
		if t.Label == "relay" && !t.Initial {
			ch <- edge{t.At, t.Active}
		}
	})
	cfg := gpioConfig(b, fullYAML)
	cfg.Relay.Pulse = 50 * time.Millisecond
	out, err := Open(context.Background(), cfg, Options{Sim: rec})
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	out.Show(Idle)
	var onLate, pulseErr []time.Duration
	for b.Loop() {
		t0 := time.Now()
		out.Show(Accept)
		on := <-ch
		off := <-ch
		if !on.on || off.on {
			b.Fatal("relay edges out of order")
		}
		onLate = append(onLate, on.at.Sub(t0))
		pulseErr = append(pulseErr, off.at.Sub(on.at)-cfg.Relay.Pulse) // never negative: timers do not fire early
	}
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"on-latency", onLate}, {"pulse-late", pulseErr}} {
		slices.Sort(m.d)
		q := func(p float64) float64 { return float64(m.d[int(p*float64(len(m.d)-1))].Microseconds()) }
		b.ReportMetric(q(0.5), "µs-"+m.name+"-p50")
		b.ReportMetric(q(0.99), "µs-"+m.name+"-p99")
		b.ReportMetric(q(1), "µs-"+m.name+"-max")
	}
}
