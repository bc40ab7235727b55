package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
)

// TestRunVerdictLatencyPerInput runs `kioskd run` with a camera (a replay)
// and a serial scanner module (on a pty): one verdict at each. A scanner's
// latency runs from the end of its read, the camera's from the frame's
// capture, so each lands in its own kioskd_verdict_latency_seconds series
// (input="camera", input="door-scanner"), and status shows each input's
// latency (inputs[] in status.json, the scanner's line of `kioskd status`).
// Before, both folded into one unlabelled histogram and status showed the
// scanner's latency as the camera's.
func TestRunVerdictLatencyPerInput(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "usb-Scanner_Module_0001-if00")
	sc := plugScanner(t, link)
	e := newEnv(t, fmt.Sprintf(`inputs:
  - name: door-scanner
    kind: serial
    device: %s
    baud: 115200
    terminator: crlf
`, link))
	raw, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfg, []byte(strings.Replace(string(raw), "  rearm: 200ms\n", "  rearm: 200ms\n  loop: true\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, e)
	d.waitFor("the sync and the scanner open", 30*time.Second, func(s status.Snapshot) bool {
		in, ok := inputNamed(s, "door-scanner")
		return s.Cache.Count == 42 && ok && in.Up
	})
	// Both series exist before the first verdict, at zero.
	for _, in := range []string{"camera", "door-scanner"} {
		if n := metricValue(t, e.port, `kioskd_verdict_latency_seconds_count{input="`+in+`"}`); n != 0 {
			t.Errorf("%s latency count before any verdict = %v", in, n)
		}
	}

	_, _, dark := demoframes.Codes()
	sc.send(dark + "\r\n")
	d.waitFor("the scanner's verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) == 1 })
	d.showBlank()
	d.show("01-code-a.png")
	s := d.waitFor("the camera's verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) == 2 })
	if s.Recent[0].Input != "camera" || s.Recent[1].Input != "door-scanner" {
		t.Fatalf("verdicts at %q then %q, want door-scanner then camera", s.Recent[1].Input, s.Recent[0].Input)
	}

	for series, want := range map[string]float64{
		`kioskd_verdict_latency_seconds_count{input="camera"}`:       1,
		`kioskd_verdict_latency_seconds_count{input="door-scanner"}`: 1,
	} {
		if v := metricValue(t, e.port, series); v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}

	cam, _ := inputNamed(s, "camera")
	scn, _ := inputNamed(s, "door-scanner")
	if cam.VerdictLatencyP50 <= 0 || scn.VerdictLatencyP50 <= 0 {
		t.Errorf("status inputs[]: camera latency %v, scanner latency %v; want both measured", cam.VerdictLatencyP50, scn.VerdictLatencyP50)
	}
	if s.Camera.VerdictLatencyP50 != cam.VerdictLatencyP50 {
		t.Errorf("camera latency %v in camera, %v in inputs[]: the scanner's folded in", s.Camera.VerdictLatencyP50, cam.VerdictLatencyP50)
	}
	out, errOut, rc := e.kioskd("status", "-config", e.cfg)
	if rc != 0 {
		t.Fatalf("kioskd status: exit %d: %s", rc, errOut)
	}
	var line string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, "input") && strings.Contains(l, "door-scanner") {
			line = l
		}
	}
	if !strings.Contains(line, ", verdict latency p50 ") {
		t.Errorf("kioskd status has no latency on the scanner's line:\n%s", out)
	}
}
