package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/display/authsignal/astest"
	"github.com/kioskd/kioskd/status"
)

// relayOn is the sim GPIO driver's log line for the relay energised.
const relayOn = "msg=relay component=gpio energised=true"

// displayDaemon starts `kioskd run` in display mode against the Authsignal
// stand-in, without sync (nothing else writes to the store), and waits for
// the first challenge on screen.
func displayDaemon(t *testing.T) (*daemonProc, *astest.Server, func() string) {
	t.Helper()
	as := astest.NewServer("tn_test", "sk_test_secret")
	t.Cleanup(as.Close)
	e := newEnv(t, "")
	if err := os.WriteFile(filepath.Join(e.dir, "authsignal_secret"), []byte(as.SecretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(e.cfg)
	cfg = bytes.Replace(cfg, []byte("client_id: test-client"), []byte(`client_id: ""`), 1)
	cfg = append(cfg, fmt.Sprintf(`display:
  enabled: true
  api_url: %s
  tenant_id: %s
  secret_key_file: authsignal_secret
  action: kiosk-login
  poll_interval: 100ms
`, as.URL, as.TenantID)...)
	if err := os.WriteFile(e.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, e)
	screen := func() string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/display/state.json", e.port))
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var s struct {
			State string `json:"state"`
		}
		json.NewDecoder(resp.Body).Decode(&s)
		return s.State
	}
	d.waitFor("the display's first challenge", 20*time.Second, func(status.Snapshot) bool { return screen() == "scan" })
	return d, as, screen
}

// approve has a phone claim and approve the challenge on screen.
func approve(t *testing.T, as *astest.Server, user string) {
	t.Helper()
	phone, err := as.NewPhone(user)
	if err != nil {
		t.Fatal(err)
	}
	ch := as.Latest()
	if _, err := phone.Claim(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	if err := phone.Approve(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
}

// TestDisplayApprovalRecordedBeforeRelay (issue 15, item 7): through the
// binary, a display approval is recorded before the relay is driven: the
// sink logs that the event is durable before it shows the accept, and the
// sim driver logs the relay line only after that.
func TestDisplayApprovalRecordedBeforeRelay(t *testing.T) {
	d, as, screen := displayDaemon(t)
	approve(t, as, "usr_alice")
	d.waitFor("the approval let in", 15*time.Second, func(status.Snapshot) bool {
		return strings.Contains(d.log.String(), relayOn)
	})
	l := d.log.String()
	rec, open := strings.Index(l, "display approval recorded"), strings.Index(l, relayOn)
	if rec < 0 || rec > open {
		t.Errorf("the relay was driven (at %d) before the approval was recorded (at %d)", open, rec)
	}
	s := d.waitFor("the approval's event pending upload", 10*time.Second, func(s status.Snapshot) bool { return s.Events.Pending >= 1 })
	if st := screen(); st != "welcome" && st != "scan" {
		t.Errorf("screen after an approval: %q", st)
	}
	t.Logf("events pending: %d", s.Events.Pending)
}

// TestDisplayFullDisk: with the disk full under the daemon (prlimit, as
// TestRunFullDisk), a display approval must not drive the relay and must
// not show welcome. Through the binary the first write to fail is the
// Authsignal idempotency key's (before the sink is reached), so this guards
// the whole path; the sink's own refusal, which only a failure between the
// two writes reaches, is TestDisplaySinkFullDisk.
func TestDisplayFullDisk(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("no prlimit (util-linux)")
	}
	d, as, screen := displayDaemon(t)
	if out, err := exec.Command(prlimit, "--pid", strconv.Itoa(d.cmd.Process.Pid), "--fsize=8192").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v %s", err, out)
	}
	approve(t, as, "usr_alice")
	var seen []string
	d.waitFor("the approval refused", 15*time.Second, func(status.Snapshot) bool {
		st := screen()
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		return st == "declined" || st == "unavailable"
	})
	// The next challenge comes after the refusal's hold (4 s): the sink was
	// done with long before, and any relay pulse it started logged.
	d.waitFor("a new challenge after the refusal", 15*time.Second, func(status.Snapshot) bool { return screen() == "scan" })
	if exited, err := d.stop(15 * time.Second); !exited || err != nil {
		t.Errorf("exit after SIGTERM on a full disk: exited %v, %v", exited, err)
	}
	l := d.log.String()
	// The limit binds the daemon's own log file too: its last line proves
	// every line before it, a relay's included, could be written.
	if !strings.Contains(l, "gpio released") {
		t.Fatalf("the daemon's log was cut short (%d bytes): the checks below would prove nothing", len(l))
	}
	t.Logf("daemon log: %d bytes", len(l))
	for _, st := range seen {
		if st == "welcome" {
			t.Errorf("welcome shown on a full disk (screens %v)", seen)
		}
	}
	if strings.Contains(l, relayOn) {
		t.Errorf("the relay was driven for an approval that could not be recorded")
	}
	if !strings.Contains(l, "file too large") {
		t.Errorf("the log does not say why the approval was refused")
	}
}
