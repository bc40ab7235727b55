package backoff

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	fixed := func(v float64) func() float64 { return func() float64 { return v } }
	for _, tc := range []struct {
		name string
		p    Policy
		n    int
		want time.Duration
	}{
		{"first", Policy{Min: time.Second, Max: time.Minute}, 1, time.Second},
		{"n below 1 counts as 1", Policy{Min: time.Second, Max: time.Minute}, 0, time.Second},
		{"doubles", Policy{Min: time.Second, Max: time.Minute}, 4, 8 * time.Second},
		{"capped", Policy{Min: time.Second, Max: time.Minute}, 7, time.Minute},
		{"a long outage does not overflow", Policy{Min: time.Second, Max: time.Minute}, 1 << 30, time.Minute},
		{"min defaults to 1s", Policy{Max: time.Minute}, 2, 2 * time.Second},
		{"max below min", Policy{Min: 5 * time.Second, Max: time.Second}, 3, 5 * time.Second},
		{"equal jitter, low end", Policy{Min: time.Second, Max: time.Minute, Low: 0.5, High: 1, Rand: fixed(0)}, 3, 2 * time.Second},
		{"equal jitter, high end", Policy{Min: time.Second, Max: time.Minute, Low: 0.5, High: 1, Rand: fixed(0.5)}, 3, 3 * time.Second},
		{"±20 %, high end", Policy{Min: time.Second, Max: time.Minute, Low: 0.8, High: 1.2, Rand: fixed(1)}, 2, 2400 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Delay(tc.n); got != tc.want {
				t.Errorf("Delay(%d) = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
	// The real random source stays inside the spread.
	p := Policy{Min: time.Second, Max: time.Minute, Low: 0.5, High: 1}
	for n := 1; n < 40; n++ {
		c := min(time.Second<<min(n-1, 20), time.Minute)
		if d := p.Delay(n); d < c/2 || d > c {
			t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, c/2, c)
		}
	}
}

func TestRetry(t *testing.T) {
	r := Retry{Policy: Policy{Min: 500 * time.Millisecond, Max: 4 * time.Second}}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, w := range want {
		if d := r.Next(); d != w {
			t.Fatalf("Next #%d = %v, want %v", i+1, d, w)
		}
	}
	r.Reset()
	if d := r.Next(); d != 500*time.Millisecond {
		t.Fatalf("after Reset: %v", d)
	}
}
