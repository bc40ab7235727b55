package scanner

import (
	"testing"
	"time"
)

func TestPresence(t *testing.T) {
	const rearm = 2 * time.Second
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	a, b := testCode, "0000000000000000000000000000000000000000000000000000000000000001"
	type step struct {
		ms   int
		code string // "" = a frame without a code (Tick)
		fire bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"held in view fires once", []step{{0, a, true}, {66, a, false}, {133, a, false}, {1000, a, false}, {2900, a, false}}},
		{"short miss does not re-arm", []step{{0, a, true}, {100, "", false}, {1500, "", false}, {1900, a, false}}},
		{"gone for rearm fires again", []step{{0, a, true}, {100, "", false}, {2100, "", false}, {2200, a, true}}},
		{"slow camera: frames further apart than rearm, all showing it", []step{{0, a, true}, {2000, a, false}, {4100, a, false}, {9000, a, false}}},
		{"another code's frames count as a's absence", []step{{0, a, true}, {100, b, true}, {2100, b, false}, {2200, a, true}}},
		{"other code fires", []step{{0, a, true}, {50, b, true}, {100, a, false}, {150, b, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPresence(rearm)
			for i, s := range tt.steps {
				if s.code == "" {
					p.Tick(at(s.ms))
					continue
				}
				if got := p.Observe(s.code, at(s.ms)); got != s.fire {
					t.Fatalf("step %d (%dms): Observe = %v, want %v", i, s.ms, got, s.fire)
				}
			}
		})
	}
}

func TestPresenceManyCodes(t *testing.T) {
	p := NewPresence(time.Minute)
	t0 := time.Now()
	codes := make([]string, presenceSlots+3)
	for i := range codes {
		codes[i] = testCode[:60] + string(rune('a'+i%6)) + string(rune('a'+i/6)) + "00"
		if !p.Observe(codes[i], t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("code %d did not fire", i)
		}
	}
	// The most recent codes are still remembered.
	if p.Observe(codes[len(codes)-1], t0.Add(time.Second)) {
		t.Fatal("most recent code fired twice")
	}
}

func TestPresenceZeroRearm(t *testing.T) {
	p := NewPresence(0)
	now := time.Now()
	for i := range 3 {
		if !p.Observe(testCode, now) {
			t.Fatalf("observation %d did not fire: with rearm 0 every one does", i)
		}
	}
}

func TestPresenceAllocs(t *testing.T) {
	p := NewPresence(time.Second)
	now := time.Now()
	if n := testing.AllocsPerRun(100, func() { p.Observe(testCode, now); p.Tick(now) }); n != 0 {
		t.Errorf("Observe+Tick allocate %v times", n)
	}
}
