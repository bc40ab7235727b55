package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
)

// TestRunHealthFullDisk: with the disk full under a running daemon
// (prlimit lowers its RLIMIT_FSIZE, as TestRunFullDisk does) every valid
// code is refused with reason error, yet /healthz said "ok" (issue 15 item
// 12a). It must answer 503 with the reason, which status.json, the page and
// `kioskd status` show too, until a write succeeds again.
func TestRunHealthFullDisk(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("no prlimit (util-linux)")
	}
	e := newEnv(t, "")
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync: exit %d %q %q", code, out, errOut)
	}
	// No sync in the daemon: only the codes shown write to the store. The
	// one-image folder loops so the test can swap what is in view.
	raw, _ := os.ReadFile(e.cfg)
	raw = bytes.Replace(raw, []byte("client_id: test-client"), []byte(`client_id: ""`), 1)
	raw = bytes.Replace(raw, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1)
	os.WriteFile(e.cfg, raw, 0o600)
	d := startDaemon(t, e)
	healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", e.port)
	d.waitFor("healthy", 20*time.Second, func(s status.Snapshot) bool { return s.Healthy })
	if code, body := fetch(t, healthz, "", ""); code != 200 {
		t.Fatalf("healthz before the full disk: %d %q", code, body)
	}
	limit := func(v string) {
		t.Helper()
		if out, err := exec.Command(prlimit, "--pid", strconv.Itoa(d.cmd.Process.Pid), "--fsize="+v+":").CombinedOutput(); err != nil {
			t.Fatalf("prlimit: %v %s", err, out)
		}
	}
	limit("8192") // the soft limit only: raising a hard limit back needs CAP_SYS_RESOURCE
	d.show("01-code-a.png")
	s := d.waitFor("a verdict on the full disk", 20*time.Second, func(s status.Snapshot) bool { return len(s.Recent) > 0 })
	if v := s.Recent[0]; v.Accept || v.Reason != "error" {
		t.Fatalf("valid code on a full disk: %+v, want a reject with reason error", v)
	}
	// The problem is evaluated on the status request itself: no waiting.
	const want = "store cannot record verdicts"
	code, body := fetch(t, healthz, "", "")
	if code != 503 || !strings.Contains(body, want) || !strings.Contains(body, "file too large") {
		t.Errorf("healthz on a full disk: %d %q, want 503 saying %q and why", code, body, want)
	}
	if s, err := d.status(); err != nil || s.Healthy || !strings.Contains(strings.Join(s.Problems, "\n"), want) {
		t.Errorf("status.json on a full disk: healthy %v problems %q (%v)", s.Healthy, s.Problems, err)
	}
	out, errOut, ec := e.kioskd("status", "-config", e.cfg)
	if ec != exitOK || !strings.Contains(out, "NOT HEALTHY") || !strings.Contains(out, want) {
		t.Errorf("kioskd status on a full disk: exit %d %q %q", ec, out, errOut)
	}
	if valid, _, _ := demoframes.Codes(); strings.Contains(body+out, valid) {
		t.Error("the code appears in the health or status output")
	}

	// Space is back: the next code is recorded and health returns.
	limit("unlimited")
	d.show("06-dark-mode-code-c.png")
	d.waitFor("an accept after space came back", 20*time.Second, func(s status.Snapshot) bool {
		return len(s.Recent) > 0 && s.Recent[0].Accept
	})
	if code, body := fetch(t, healthz, "", ""); code != 200 {
		t.Errorf("healthz after space came back: %d %q", code, body)
	}
}
