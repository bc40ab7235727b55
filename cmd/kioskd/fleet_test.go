package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/status"
)

func lastReason(s status.Snapshot) string {
	if len(s.Recent) == 0 {
		return ""
	}
	return s.Recent[0].Reason
}

func countReason(s status.Snapshot, reason string) int {
	n := 0
	for _, v := range s.Recent {
		if v.Reason == reason {
			n++
		}
	}
	return n
}

// TestFleetThreeProcesses runs three real kioskd daemons and a real
// Mosquitto: a code used at door A is refused at B and C; during a broker
// outage A and B both let the same code in (they cannot know), and once the
// broker is back each of them reports the double entry, and both reports
// reach the venue's events receiver, which deduplicates on nonces.
func TestFleetThreeProcesses(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	rv := newEventsReceiver(t, 0)
	var ks []*daemonProc
	for _, id := range []string{"door-a", "door-b", "door-c"} {
		e := newEnv(t, fmt.Sprintf("kiosk_id: %s\nfleet:\n  broker: %s\n  topic_prefix: kioskd/test-venue\nevents:\n  url: %s/ingest\n  upload_interval: 1s\n",
			id, br.URL(), rv.srv.URL))
		// Loop the one-image folder so the test can swap what is in view.
		cfg, _ := os.ReadFile(e.cfg)
		cfg = bytes.Replace(cfg, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1)
		os.WriteFile(e.cfg, cfg, 0o600)
		ks = append(ks, startDaemon(t, e))
	}
	a, b, c := ks[0], ks[1], ks[2]
	for _, k := range ks {
		k.waitFor("start-up sync and fleet connection", 30*time.Second, func(s status.Snapshot) bool {
			return s.Cache.Count > 0 && len(s.Peers) == 2
		})
	}

	// 1. Door A lets code A in; B and C then refuse it.
	a.show("01-code-a.png")
	a.waitFor("A accepts code A", 10*time.Second, func(s status.Snapshot) bool { return lastReason(s) == "ok" })
	accepted := time.Now()
	a.show("03-no-qr.png")
	b.show("01-code-a.png")
	c.show("01-code-a.png")
	for _, k := range []*daemonProc{b, c} {
		k.waitFor("code A refused at B and C", 10*time.Second, func(s status.Snapshot) bool { return lastReason(s) == "already-used" })
		k.show("03-no-qr.png")
	}
	t.Logf("A accepted → B and C refused within %v (incl. ~250 ms frame interval and the status polling)", time.Since(accepted).Round(time.Millisecond))

	// 2. A partition: the broker goes away; A and B both accept code C.
	br.Stop()
	for _, k := range []*daemonProc{a, b} {
		k.waitFor("fleet disconnected", 20*time.Second, func(s status.Snapshot) bool { return !s.Healthy })
		k.show("06-dark-mode-code-c.png")
	}
	for _, k := range []*daemonProc{a, b} {
		k.waitFor("offline accept of code C", 10*time.Second, func(s status.Snapshot) bool {
			return countReason(s, "ok") == 2 || (k == b && countReason(s, "ok") == 1)
		})
		k.show("03-no-qr.png")
	}

	// 3. The broker is back: each of A and B reports the double entry once;
	// C, which let nobody in twice, reports none.
	br.StartAgain()
	for _, k := range []*daemonProc{a, b} {
		k.waitFor("double entry reported", 30*time.Second, func(s status.Snapshot) bool {
			n := 0
			for _, p := range s.Problems {
				if strings.Contains(p, "double entry") && strings.Contains(p, "door-a") && strings.Contains(p, "door-b") {
					n++
				}
			}
			return n == 1
		})
	}
	// Issue 15 item 11: both kiosks' reports used to share one nonce, so
	// the deduplicating receiver kept one. Each has its own now, and both
	// carry the same incident id.
	deadline := time.Now().Add(30 * time.Second)
	for len(rv.events("double-entry")) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	des := rv.events("double-entry")
	if len(des) != 2 {
		t.Fatalf("the receiver kept %d double-entry reports, want A's and B's: %v", len(des), des)
	}
	if des[0]["kiosk"] == des[1]["kiosk"] || des[0]["incident"] == nil || des[0]["incident"] != des[1]["incident"] {
		t.Fatalf("double-entry reports %v: want one per kiosk with one incident id", des)
	}

	// C has applied both redemptions (code A from A, code C from A and
	// from B): it refuses code C. C reconnects on its own backoff, maybe
	// after A and B; shown the code before it caught up it could only
	// accept it, as any kiosk cut off from the fleet would.
	c.waitFor("C caught up with A and B", 30*time.Second, func(s status.Snapshot) bool {
		return s.Fleet != nil && s.Fleet.Connected && s.Fleet.Applied >= 3
	})
	c.show("06-dark-mode-code-c.png")
	c.waitFor("code C refused at C", 10*time.Second, func(s status.Snapshot) bool { return countReason(s, "already-used") == 2 })
	if s, err := c.status(); err == nil {
		for _, p := range s.Problems {
			if strings.Contains(p, "double entry") {
				t.Errorf("C reports a double entry it took no part in: %q", p)
			}
		}
	}
}

// fleetConfig is the fleet section of a kiosk on the test's broker.
func fleetConfig(id, broker string) string {
	return fmt.Sprintf("kiosk_id: %s\nfleet:\n  broker: %s\n  topic_prefix: kioskd/test-venue\n", id, broker)
}

// withLoop makes the daemon's one-image frame folder loop, so the test can
// swap what is in view (as TestFleetThreeProcesses does).
func withLoop(t *testing.T, e *env) {
	t.Helper()
	cfg, _ := os.ReadFile(e.cfg)
	cfg = bytes.Replace(cfg, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1)
	if err := os.WriteFile(e.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
}

func hasProblem(s status.Snapshot, part string) bool {
	for _, p := range s.Problems {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}

// TestFleetReloadWithoutBrokerKeepsQueue (issue 15, item 8): door A lets a
// code in while the broker is down, so the redemption waits in A's fleet
// outbox; a SIGHUP with a config that lost fleet.broker (an operator's
// slip) must not delete it. Status says it is waiting; with the broker back
// in the config (another SIGHUP) door B receives it and refuses the code.
func TestFleetReloadWithoutBrokerKeepsQueue(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	ea := newEnv(t, fleetConfig("door-a", br.URL()))
	withLoop(t, ea)
	withBroker, _ := os.ReadFile(ea.cfg)
	a := startDaemon(t, ea)
	a.waitFor("A synced and connected", 30*time.Second, func(s status.Snapshot) bool {
		return s.Cache.Count > 0 && s.Fleet != nil && s.Fleet.Connected
	})

	br.Stop()
	a.waitFor("A's fleet disconnected", 20*time.Second, func(s status.Snapshot) bool { return s.Fleet != nil && !s.Fleet.Connected })
	a.show("01-code-a.png")
	a.waitFor("A accepts code A offline", 10*time.Second, func(s status.Snapshot) bool { return lastReason(s) == "ok" })
	a.show("03-no-qr.png")
	a.waitFor("the redemption queued for the fleet", 10*time.Second, func(s status.Snapshot) bool { return s.Fleet.Pending == 1 })

	// The slip: fleet.broker gone from the config.
	without := bytes.Replace(withBroker, fmt.Appendf(nil, "  broker: %s\n", br.URL()), nil, 1)
	if bytes.Equal(without, withBroker) {
		t.Fatal("the test could not remove fleet.broker")
	}
	if err := os.WriteFile(ea.cfg, without, 0o600); err != nil {
		t.Fatal(err)
	}
	a.cmd.Process.Signal(syscall.SIGHUP)
	s := a.waitFor("A reloaded without a fleet", 20*time.Second, func(s status.Snapshot) bool { return s.Fleet == nil })
	if !hasProblem(s, "1 local redemptions never published") || s.Healthy {
		t.Errorf("A's status does not show the kept redemption as a problem: healthy %v, %q", s.Healthy, s.Problems)
	}
	if l := a.log.String(); !strings.Contains(l, "never published") {
		t.Errorf("A's log does not warn that redemptions are kept:\n%s", l)
	}

	// The broker is back, and B on it; then the broker back in A's config.
	br.StartAgain()
	eb := newEnv(t, fleetConfig("door-b", br.URL()))
	withLoop(t, eb)
	b := startDaemon(t, eb)
	b.waitFor("B synced and connected", 30*time.Second, func(s status.Snapshot) bool {
		return s.Cache.Count > 0 && s.Fleet != nil && s.Fleet.Connected
	})
	if err := os.WriteFile(ea.cfg, withBroker, 0o600); err != nil {
		t.Fatal(err)
	}
	a.cmd.Process.Signal(syscall.SIGHUP)
	a.waitFor("A published the kept redemption", 30*time.Second, func(s status.Snapshot) bool {
		return s.Fleet != nil && s.Fleet.Connected && s.Fleet.Pending == 0 && s.Fleet.Published >= 1 && !hasProblem(s, "never published")
	})
	b.waitFor("B applied A's redemption", 20*time.Second, func(s status.Snapshot) bool { return s.Fleet.Applied >= 1 })
	b.show("01-code-a.png")
	b.waitFor("B refuses code A", 10*time.Second, func(s status.Snapshot) bool { return lastReason(s) == "already-used" })
}

// TestFleetDropCommand: redemptions kept from a fleet the config no longer
// names are shown by `kioskd status` and discarded only by `kioskd fleet
// drop`, on purpose. No broker needed: door A's broker never answers.
func TestFleetDropCommand(t *testing.T) {
	e := newEnv(t, fleetConfig("door-a", fmt.Sprintf("mqtt://127.0.0.1:%d", freePort(t))))
	withLoop(t, e)
	withBroker, _ := os.ReadFile(e.cfg)
	a := startDaemon(t, e)
	a.waitFor("A synced", 30*time.Second, func(s status.Snapshot) bool { return s.Cache.Count > 0 && s.Fleet != nil })
	a.show("01-code-a.png")
	a.waitFor("A accepts code A and queues it", 10*time.Second, func(s status.Snapshot) bool {
		return lastReason(s) == "ok" && s.Fleet.Pending == 1
	})
	if exited, err := a.stop(10 * time.Second); !exited || err != nil {
		t.Fatalf("stopping A: exited %v, %v", exited, err)
	}
	without := bytes.Replace(withBroker, []byte("  broker: mqtt://"), []byte("  #broker: mqtt://"), 1)
	if err := os.WriteFile(e.cfg, without, 0o600); err != nil {
		t.Fatal(err)
	}

	const kept = "1 local redemptions never published"
	steps := []struct {
		args    []string
		code    int
		want    string // in stdout
		wantNot string
		wantErr string // in stderr
	}{
		{[]string{"status", "-config", e.cfg}, exitOK, kept, "", ""},
		{[]string{"fleet"}, exitError, "", "", "Usage: kioskd fleet drop"},
		{[]string{"fleet", "drop", "-config", e.cfg}, exitOK, "dropped 1 local redemptions", "", ""},
		{[]string{"status", "-config", e.cfg}, exitOK, "", kept, ""},
		{[]string{"fleet", "drop", "-config", e.cfg}, exitOK, "no local redemptions were waiting", "", ""},
	}
	for _, st := range steps {
		out, errOut, code := e.kioskd(st.args...)
		if code != st.code || !strings.Contains(out, st.want) || (st.wantNot != "" && strings.Contains(out, st.wantNot)) ||
			!strings.Contains(errOut, st.wantErr) {
			t.Errorf("kioskd %v: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q without %q, stderr with %q",
				st.args, code, out, errOut, st.code, st.want, st.wantNot, st.wantErr)
		}
	}
}
