package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/verify"
)

// TestDemoScannerScene: `kioskd demo` shows its simulated keyboard-wedge
// scanner beside the camera, through the real hid reader and the camera's
// decision step: a code re-sent while held is one accept, an unknown code
// is refused, the unplugged scanner shows the fault pattern and comes back,
// and a code used at the camera is refused at the scanner.
func TestDemoScannerScene(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the full demo (~10 s)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, &out, Options{Extra: 20})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	want := []verify.Reason{verify.OK, verify.Unknown, verify.AlreadyUsed}
	if len(res.Scanned) != len(want) {
		t.Fatalf("scanner verdicts %+v, want %v\n%s", res.Scanned, want, out.String())
	}
	for i, w := range want {
		if v := res.Scanned[i]; v.Reason != w || v.Input != "desk-scanner" {
			t.Errorf("scanner verdict %d: %v at %q, want %v at desk-scanner", i, v.Reason, v.Input, w)
		}
	}
	s := out.String()
	for _, frag := range []string{"UNPLUGGED: fault pattern on", "desk-scanner attached", "scanner scene"} {
		if !strings.Contains(s, frag) {
			t.Errorf("the demo's output lacks %q:\n%s", frag, s)
		}
	}
	// The camera's verdicts name the camera.
	for _, v := range res.Verdicts {
		if v.Input != "camera" {
			t.Errorf("camera verdict %v names input %q", v.Reason, v.Input)
		}
	}
}
