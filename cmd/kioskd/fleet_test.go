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
// broker is back each of them reports the double entry.
func TestFleetThreeProcesses(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	var ks []*daemonProc
	for _, id := range []string{"door-a", "door-b", "door-c"} {
		e := newEnv(t, fmt.Sprintf("kiosk_id: %s\nfleet:\n  broker: %s\n  topic_prefix: kioskd/test-venue\n", id, br.URL()))
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
