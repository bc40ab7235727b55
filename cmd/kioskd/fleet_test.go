package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
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
