package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
)

// daemonProc is one running `kioskd run` of a test. Its camera is the replay
// folder e.dir/frames: either frames the test wrote before the start, or a
// one-image folder replayed in a loop in which the test "holds up" a code by
// swapping that image (startDaemon, show).
type daemonProc struct {
	t      *testing.T
	e      *env
	cmd    *exec.Cmd
	log    logFile
	exited chan error
	done   bool
	err    error
}

// logFile is the daemon's output: a file in the test's folder, which the
// child writes itself (no copying goroutine to synchronise with the test's
// reads) and which is still there after a failure.
type logFile struct{ path string }

func (l logFile) String() string {
	b, _ := os.ReadFile(l.path)
	return string(b)
}

// launch starts `kioskd run -config e.cfg`. The test's cleanup stops it if
// the test did not (SIGTERM, then SIGKILL) and prints its log on failure.
func launch(t *testing.T, e *env) *daemonProc {
	t.Helper()
	d := &daemonProc{t: t, e: e, exited: make(chan error, 1)}
	d.cmd = exec.Command(kioskdBin, "run", "-config", e.cfg)
	f, err := os.CreateTemp(e.dir, "kioskd-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child has its own descriptor
	d.log = logFile{f.Name()}
	d.cmd.Stdout, d.cmd.Stderr = f, f
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if !d.done {
			if ok, _ := d.stop(10 * time.Second); !ok {
				d.cmd.Process.Kill()
				<-d.exited
			}
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", e.cfg, d.log.String())
		}
	})
	return d
}

// startDaemon launches a daemon whose camera sees a frame with no QR code
// until the test shows it another.
func startDaemon(t *testing.T, e *env) *daemonProc {
	t.Helper()
	os.MkdirAll(filepath.Join(e.dir, "frames"), 0o700)
	d := &daemonProc{t: t, e: e}
	d.show("03-no-qr.png")
	return launch(t, e)
}

// stop sends SIGTERM and waits up to timeout for the exit. It reports
// whether the process exited in time, and its exit error.
func (d *daemonProc) stop(timeout time.Duration) (exited bool, err error) {
	if d.done {
		return true, d.err
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case d.err = <-d.exited:
		d.done = true
		return true, d.err
	case <-time.After(timeout):
		return false, nil
	}
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

// showBlank shows a frame with no code and waits until the lane has decoded
// three frames since: at least two of them saw no code, so a code shown next
// is a new scan, not one held in view. A wait by the clock would not do: a
// loaded lane drops frames.
func (d *daemonProc) showBlank() {
	d.t.Helper()
	before := d.framesDecoded()
	d.show("03-no-qr.png")
	deadline := time.Now().Add(30 * time.Second)
	for d.framesDecoded() < before+3 {
		if time.Now().After(deadline) {
			d.t.Fatalf("the lane decoded fewer than 3 frames in 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// framesDecoded reads kioskd_frames_total from /metrics (0 if unreadable).
func (d *daemonProc) framesDecoded() int {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", d.e.port))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "kioskd_frames_total "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f)
		}
	}
	return 0
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

// waitFor polls the status until ok says yes, and returns that status.
func (d *daemonProc) waitFor(what string, timeout time.Duration, ok func(status.Snapshot) bool) status.Snapshot {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	var last status.Snapshot
	for time.Now().Before(deadline) {
		if s, err := d.status(); err == nil {
			last = s
			if ok(s) {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("%s: not within %v; last status: recent %+v problems %v peers %+v", what, timeout, last.Recent, last.Problems, last.Peers)
	return last
}
