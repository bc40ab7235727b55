package status

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestOutputLines(t *testing.T) {
	now := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	down := false
	s := Snapshot{Kiosk: "door-3", Now: now, Healthy: true, Outputs: []Output{
		{Name: "till", Kind: "webhook", Target: "https://till.local/kioskd", Configured: true, Queued: 3, Delivered: 120,
			Failures: 4, LastError: "no answer within 5s", NextAttempt: now.Add(8 * time.Second)},
		{Name: "loyalty", Kind: "mqtt", Target: "mqtt://pos:1883 topic pos/door-3", Configured: true, Connected: &down, Delivered: 7,
			LastDelivered: now.Add(-time.Minute), LastLatency: Duration(2500 * time.Millisecond), Slow: true},
		{Name: "old", Configured: false, Queued: 12, Dropped: 1},
	}}
	var b bytes.Buffer
	if err := WriteText(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"output   till webhook https://till.local/kioskd; 3 queued, 120 delivered, 0 refused, 0 dropped; FAILING (4 in a row): no answer within 5s; next attempt 2026-12-03 14:00:08 UTC",
		"output   loyalty mqtt mqtt://pos:1883 topic pos/door-3 DISCONNECTED; 0 queued, 7 delivered, 0 refused, 0 dropped; last delivered 2026-12-03 13:59:00 UTC in 2.5s (SLOW)",
		"output   old (no longer configured); 12 queued, 0 delivered, 0 refused, 1 dropped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing line\n%s\nin\n%s", want, out)
		}
	}
	j, err := json.Marshal(s)
	if err != nil || !strings.Contains(string(j), `"outputs":[{"name":"till","kind":"webhook"`) {
		t.Fatalf("json %s %v", j, err)
	}
}
