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
