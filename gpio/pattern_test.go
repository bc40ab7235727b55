package gpio

import (
	"testing"
	"time"
)

func TestWaveAt(t *testing.T) {
	ms := time.Millisecond
	blink := wave{steps: []step{{100 * ms, true}, {300 * ms, false}}, loop: true}
	beeps := wave{steps: []step{{100 * ms, true}, {50 * ms, false}, {100 * ms, true}}}
	tests := []struct {
		name   string
		w      wave
		t      time.Duration
		on     bool
		next   time.Duration
		change bool
	}{
		{"loop start", blink, 0, true, 100 * ms, true},
		{"loop off", blink, 150 * ms, false, 400 * ms, true},
		{"loop second period", blink, 450 * ms, true, 500 * ms, true},
		{"loop period edge", blink, 400 * ms, true, 500 * ms, true},
		{"once gap", beeps, 120 * ms, false, 150 * ms, true},
		{"once last", beeps, 200 * ms, true, 250 * ms, true},
		{"once over", beeps, 250 * ms, false, 0, false},
		{"empty", wave{}, 0, false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			on, next, ok := tt.w.at(tt.t)
			if on != tt.on || next != tt.next || ok != tt.change {
				t.Errorf("at(%v) = %v, %v, %v; want %v, %v, %v", tt.t, on, next, ok, tt.on, tt.next, tt.change)
			}
		})
	}
}

func TestLevelsIdleNeedsNoWakeUp(t *testing.T) {
	s := state{acceptFor: time.Second, rejectFor: time.Second, pulse: 3 * time.Second}
	lv, next := s.levels(time.Unix(1000, 0))
	if lv != ([numRoles]bool{}) || !next.IsZero() {
		t.Errorf("idle levels = %v, next %v; want all off and no wake-up", lv, next)
	}
}

func TestPulseNeverShortened(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := state{pulse: 3 * time.Second}
	s.pulseRelay(t0.Add(2 * time.Second))
	s.pulseRelay(t0) // an older request processed late must not cut the pulse
	if want := t0.Add(5 * time.Second); !s.relayUntil.Equal(want) {
		t.Errorf("relayUntil = %v, want %v", s.relayUntil, want)
	}
}

// FuzzLevels drives the state with arbitrary sequences of shows, faults and
// time steps and checks the invariants the goroutine relies on: nothing
// changes before the announced next change, and the relay is energised only
// within a pulse of an accept or while faulted in fail_mode safe.
func FuzzLevels(f *testing.F) {
	f.Add([]byte{2, 10, 3, 200, 2, 50}, false)
	f.Add([]byte{4, 0, 1, 255, 5, 1, 2, 3}, true)
	f.Add([]byte{1, 7, 7, 7, 3, 3, 3}, false)
	f.Fuzz(func(t *testing.T, ops []byte, failSafe bool) {
		t0 := time.Unix(1_000_000, 0)
		s := state{acceptFor: 1500 * time.Millisecond, rejectFor: 700 * time.Millisecond, pulse: 3 * time.Second, failSafe: failSafe}
		now := t0
		var lastAccept time.Time
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%8, ops[i+1]
			switch op {
			case 0, 1, 2, 3, 4:
				p := Pattern(op)
				s.showPattern(p, now)
				if p == Accept {
					s.pulseRelay(now)
					lastAccept = now
				}
			case 5:
				s.setFault(arg%2 == 1, now)
			default:
				now = now.Add(time.Duration(arg) * 37 * time.Millisecond)
			}
			lv, next := s.levels(now)
			if lv[roleRelay] {
				inPulse := !lastAccept.IsZero() && now.Before(lastAccept.Add(s.pulse))
				if !inPulse && !(s.fault && failSafe) {
					t.Fatalf("relay on at +%v without a pulse or a safe-mode fault", now.Sub(t0))
				}
			}
			if next.IsZero() { // nothing may change until something is shown
				c := s
				if got, _ := c.levels(now.Add(time.Hour)); got != lv {
					t.Fatalf("levels changed at +%v with no next change announced: %v -> %v", now.Sub(t0)+time.Hour, lv, got)
				}
				continue
			}
			if !next.After(now) {
				t.Fatalf("next change %v is not after now %v", next, now)
			}
			for _, probe := range []time.Time{now.Add(next.Sub(now) / 2), next.Add(-time.Nanosecond)} {
				c := s // levels may end a pattern: probe a copy
				if got, _ := c.levels(probe); got != lv {
					t.Fatalf("levels changed at +%v, before the announced next change at +%v: %v -> %v",
						probe.Sub(t0), next.Sub(t0), lv, got)
				}
			}
		}
	})
}
