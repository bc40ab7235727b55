package status

import (
	"fmt"
	"time"
)

// Input is one place codes are read at: the camera or a scanner (config
// inputs:, issue 20).
type Input struct {
	Name string `json:"name"`
	// Type is camera, hid or serial.
	Type string `json:"type"`
	Up   bool   `json:"up"`
	// Detail is what is open (device, line settings) or the fault.
	Detail string `json:"detail,omitempty"`
	// Reads counts a scanner's complete reads since start (never their
	// text); LastRead is the latest one's time.
	Reads    uint64    `json:"reads"`
	LastRead time.Time `json:"last_read,omitzero"`
	// VerdictLatencyP50 and P95 are over the input's recent verdicts: for
	// the camera from a frame's capture (as Camera's), for a scanner from
	// the end of its read; absent before the first verdict.
	VerdictLatencyP50 Duration `json:"verdict_latency_p50,omitzero"`
	VerdictLatencyP95 Duration `json:"verdict_latency_p95,omitzero"`
}

// writeInputs adds a line per scanner input to `kioskd status`; the camera
// has its own line.
func writeInputs(line func(k, format string, args ...any), ins []Input, loc *time.Location) {
	for _, in := range ins {
		if in.Type == "camera" {
			continue
		}
		state := "DOWN"
		if in.Up {
			state = "up"
		}
		reads := fmt.Sprintf("%d reads", in.Reads)
		if !in.LastRead.IsZero() {
			reads += ", last " + stamp(in.LastRead, loc)
		}
		if in.VerdictLatencyP50 > 0 {
			reads += fmt.Sprintf(", verdict latency p50 %s p95 %s", in.VerdictLatencyP50, in.VerdictLatencyP95)
		}
		line("input", "%s (%s) %s", in.Name, in.Type, join(state, in.Detail, reads))
	}
}

// inputNote names a verdict's input in the recent list when the kiosk has
// more than one to tell apart.
func inputNote(name string, inputs int) string {
	if name == "" || inputs < 2 {
		return ""
	}
	return "at " + name
}
