package kiosk

import (
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// TestMonitorRecordingFailing: a store that cannot record is a problem (so
// /healthz answers 503 and the fault indication shows), with its reason;
// it clears once a write succeeds (issue 15 item 12a).
func TestMonitorRecordingFailing(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	h := &healthVar{h: verify.Health{ClockTrusted: true}}
	sig := &recSignal{}
	m := &Monitor{Verifier: h, Signal: sig, Now: clk.now}
	m.CameraState(scanner.State{Up: true, Detail: "test"})
	m.Frame(scanner.Frame{}, time.Millisecond, false)
	since := clk.t.Add(-time.Minute)
	tests := []struct {
		name string
		rec  verify.Recording
		want string // "" = healthy
	}{
		{"recorded", verify.Recording{LastOK: since}, ""},
		{"last write failed", verify.Recording{Failing: true, Failures: 1, Since: since, LastError: "recording redemption: write k.db: file too large", LastOK: since.Add(-time.Hour)},
			"store cannot record verdicts: 1 write(s) failed since 2026-11-23T11:59:00Z, none succeeded (last: recording redemption: write k.db: file too large)"},
		{"failed, never succeeded", verify.Recording{Failing: true, Failures: 4, Since: since, LastError: "appending event: no space left on device"},
			"store cannot record verdicts: 4 write(s) failed"},
		{"a write succeeded again", verify.Recording{LastOK: clk.t}, ""},
	}
	for _, tt := range tests {
		h.set(verify.Health{ClockTrusted: true, Recording: tt.rec})
		ps := m.Problems()
		if tt.want == "" {
			if len(ps) != 0 {
				t.Errorf("%s: problems %q, want none", tt.name, ps)
			}
			continue
		}
		if len(ps) != 1 || !strings.HasPrefix(ps[0], tt.want) {
			t.Errorf("%s: problems %q, want one starting %q", tt.name, ps, tt.want)
		}
	}
}
