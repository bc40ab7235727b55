package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	stdsync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
)

// daemonProc is one running `kioskd run` whose camera is a one-image folder
// replayed in a loop: the test "holds up" a code by swapping that image.
type daemonProc struct {
	t      *testing.T
	e      *env
	cmd    *exec.Cmd
	log    lockedBuffer
	exited chan error
}

// lockedBuffer is the daemon's output, written by exec's copier while the
// test reads it.
type lockedBuffer struct {
	mu stdsync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startDaemon(t *testing.T, e *env) *daemonProc {
	t.Helper()
	d := &daemonProc{t: t, e: e, exited: make(chan error, 1)}
	os.MkdirAll(filepath.Join(e.dir, "frames"), 0o700)
	d.show("03-no-qr.png")
	d.cmd = exec.Command(kioskdBin, "run", "-config", e.cfg)
	d.cmd.Stdout, d.cmd.Stderr = &d.log, &d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", e.cfg, d.log.String())
		}
	})
	return d
}

// show puts a bundled frame in front of the kiosk's camera.
func (d *daemonProc) show(name string) {
	d.t.Helper()
	data, err := fs.ReadFile(demoframes.FS(), name)
	if err != nil {
		d.t.Fatal(err)
	}
	dir := filepath.Join(d.e.dir, "frames")
	tmp := filepath.Join(d.e.dir, "frame.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "frame.png")); err != nil {
		d.t.Fatal(err)
	}
}

func (d *daemonProc) status() (status.Snapshot, error) {
	var s status.Snapshot
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/status.json", d.e.port))
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// waitFor polls the status until ok says yes.
func (d *daemonProc) waitFor(what string, timeout time.Duration, ok func(status.Snapshot) bool) time.Duration {
	d.t.Helper()
	t0 := time.Now()
	var last status.Snapshot
	for time.Since(t0) < timeout {
		if s, err := d.status(); err == nil {
			last = s
			if ok(s) {
				return time.Since(t0)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("%s: not within %v; last status: recent %+v problems %v peers %+v", what, timeout, last.Recent, last.Problems, last.Peers)
	return 0
}

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
	// C has applied both redemptions: it refuses code C.
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
