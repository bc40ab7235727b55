package status

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/verify"
)

func TestInputsInStatus(t *testing.T) {
	now := time.Date(2026, 11, 23, 18, 30, 0, 0, time.UTC)
	s := Snapshot{Kiosk: "door-3", Now: now, Healthy: false, Problems: []string{"input desk (hid) down: gone"},
		Camera: Camera{Up: true, Source: "/dev/video0"},
		Inputs: []Input{
			{Name: "camera", Type: "camera", Up: true, Detail: "/dev/video0"},
			{Name: "door-uart", Type: "serial", Up: true, Detail: "serial /dev/serial0 9600 8N1", Reads: 3, LastRead: now.Add(-time.Minute),
				VerdictLatencyP50: Duration(4 * time.Millisecond), VerdictLatencyP95: Duration(7 * time.Millisecond)},
			{Name: "desk", Type: "hid", Detail: "gone"},
		},
		Recent: []Verdict{FromVerdict(verify.Verdict{Reason: verify.OK, Accept: true, At: now, Hash: "9f86d081884c7d65", Input: "door-uart"})},
	}
	var b bytes.Buffer
	if err := WriteText(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, frag := range []string{
		"input    door-uart (serial) up, serial /dev/serial0 9600 8N1, 3 reads, last 2026-11-23 18:29:00 UTC, verdict latency p50 4ms p95 7ms",
		"input    desk (hid) DOWN, gone, 0 reads",
		"ACCEPT  ok  9f86d081  at door-uart",
	} {
		if !strings.Contains(out, frag) {
			t.Errorf("status text lacks %q:\n%s", frag, out)
		}
	}
	if strings.Contains(out, "input    camera") {
		t.Errorf("the camera has its own line, not an input line:\n%s", out)
	}
	j, _ := json.Marshal(s)
	if !strings.Contains(string(j), `"inputs":[{"name":"camera"`) || !strings.Contains(string(j), `"input":"door-uart"`) ||
		!strings.Contains(string(j), `"verdict_latency_p50":"4ms","verdict_latency_p95":"7ms"`) {
		t.Errorf("status.json: %s", j)
	}
	// One input: nothing to tell apart, the recent list stays as it was.
	s.Inputs = s.Inputs[:1]
	b.Reset()
	WriteText(&b, s)
	if strings.Contains(b.String(), "at door-uart") {
		t.Errorf("a single-input kiosk names the input in its recent verdicts:\n%s", b.String())
	}
}
