package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
)

// TestRunFullDisk fills the disk under a running daemon (prlimit lowers its
// RLIMIT_FSIZE to 8 KiB: bbolt's two meta pages stay writable, nothing
// else, and Go ignores SIGXFSZ so the writes fail with EFBIG). A valid code
// shown then must be a reject with reason error, never an accept; the log
// must say why; and afterwards the store opens and the code, whose use was
// never recorded, is still good.
func TestRunFullDisk(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("no prlimit (util-linux)")
	}
	e := newEnv(t, "")
	valid, _, _ := demoframes.Codes()
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync: exit %d %q %q", code, out, errOut)
	}
	// The daemon then runs without sync (no client id), so nothing but the
	// code below writes to the store once it is up.
	raw, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, bytes.Replace(raw, []byte("client_id: test-client"), []byte(`client_id: ""`), 1), 0o600)
	// The camera sees nothing until the limit is lowered, then the code
	// (shown, not scripted: a loaded lane drops frames as a camera's would).
	raw, _ = os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, bytes.Replace(raw, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1), 0o600)
	d := startDaemon(t, e)
	d.waitFor("daemon up", 20*time.Second, func(status.Snapshot) bool { return true })
	if out, err := exec.Command(prlimit, "--pid", strconv.Itoa(d.cmd.Process.Pid), "--fsize=8192").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v %s", err, out)
	}
	d.show("01-code-a.png")
	s := d.waitFor("a verdict", 40*time.Second, func(s status.Snapshot) bool { return len(s.Recent) > 0 })
	if v := s.Recent[0]; v.Accept || v.Reason != "error" {
		t.Errorf("the code on a full disk: %+v, want a reject with reason error", v)
	}
	if exited, err := d.stop(15 * time.Second); !exited {
		t.Fatal("no exit after SIGTERM")
	} else if err != nil {
		t.Errorf("exit after SIGTERM on a full disk: %v", err)
	}
	l := d.log.String()
	if strings.Contains(l, "accept=true") {
		t.Errorf("an accept was logged on a full disk:\n%s", l)
	}
	if !strings.Contains(l, "recording redemption") || !strings.Contains(l, "file too large") {
		t.Errorf("the log does not say the redemption could not be recorded, and why:\n%s", l)
	}
	if strings.Contains(l, valid) {
		t.Error("the code appears in the log")
	}
	// Space is back (a new process): the store opens; the use never counted.
	for _, args := range [][]string{{"-dry-run", valid}, {valid}} {
		if out, errOut, code := e.kioskd(append([]string{"check", "-config", e.cfg}, args...)...); code != exitOK || !strings.Contains(out, "accept\tok") {
			t.Errorf("check (dry run %v) after the full disk: exit %d %q %q", len(args) == 2, code, out, errOut)
		}
	}
}
