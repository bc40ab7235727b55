package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
)

// run runs the binary with a deadline of its own: a daemon that should have
// refused to start but did not is killed, and reported, instead of hanging.
func (e *env) run(timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kioskdBin, args...)
	cmd.Dir, cmd.Env = e.dir, toolEnv()
	var o, er bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &er
	_ = cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		er.WriteString("\n(killed: still running after " + timeout.String() + ")")
	}
	return o.String(), er.String(), code
}

// snapshotRoot is the page that holds the serving cache's root (a small
// store keeps its redemptions inline elsewhere, so damaging this page loses
// the cache but not the redemptions).
func snapshotRoot(t *testing.T, path string) (pgid int64, pageSize int, inUse int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		active := tx.Bucket([]byte("meta")).Get([]byte("active"))
		b := tx.Bucket(active)
		if b == nil {
			t.Fatalf("no active snapshot %q", active)
		}
		pgid = int64(b.RootPage())
		inUse = int(tx.Size())
		return nil
	})
	if err != nil || pgid < 2 {
		t.Fatalf("snapshot root page %d: %v (an inline snapshot?)", pgid, err)
	}
	return pgid, db.Info().PageSize, inUse
}

// usedStore makes a kiosk whose store holds a synced cache and one use of
// the valid code, and returns it with the store file's bytes.
func usedStore(t *testing.T) (*env, string, []byte) {
	t.Helper()
	e := newEnv(t, "")
	valid, _, _ := demoframes.Codes()
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync: exit %d %q %q", code, out, errOut)
	}
	if out, errOut, code := e.kioskd("check", "-config", e.cfg, valid); code != exitOK {
		t.Fatalf("first use: exit %d %q %q", code, out, errOut)
	}
	dbPath := filepath.Join(e.dir, "state", "kioskd.db")
	good, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	return e, dbPath, good
}

// TestDamagedStore builds damaged store files the way SD cards and power
// cuts make them and runs every command that opens the store on each: all
// must exit 2 with a clear message, never a panic, never start empty. Then
// `kioskd store check` says damaged, `kioskd store recover` rescues what is
// readable, and a used single-use code stays used after the next sync.
func TestDamagedStore(t *testing.T) {
	valid, _, _ := demoframes.Codes()
	// Where the pages are: the same for every kiosk made the same way.
	_, dbPath, _ := usedStore(t)
	root, ps, inUse := snapshotRoot(t, dbPath)
	overwrite := func(page int64, fill func(i int) byte) func([]byte) []byte {
		return func(b []byte) []byte {
			for i := range ps {
				b[page*int64(ps)+int64(i)] = fill(i)
			}
			return b
		}
	}
	garbage := func(i int) byte { return byte(i*131 + 7) }
	zero := func(int) byte { return 0 }

	tests := []struct {
		name   string
		damage func([]byte) []byte // nil: the file is removed
		want   string              // in stderr
		// keepsUse: the recovered store still knows the code was used.
		keepsUse bool
	}{
		{"0-byte file", func([]byte) []byte { return nil }, "empty (0 bytes)", false},
		{"truncated to half", func(b []byte) []byte { return b[:inUse/2] }, "truncated", false},
		{"truncated to 3 pages", func(b []byte) []byte { return b[:3*ps] }, "truncated", false},
		{"truncated inside the last page in use", func(b []byte) []byte { return b[:inUse-ps/2] }, "truncated", false},
		{"garbage over the cache's root page", overwrite(root, garbage), "damaged", true},
		{"zeros over the cache's root page", overwrite(root, zero), "damaged", true},
		{"both meta pages zeroed", func(b []byte) []byte { clear(b[:2*ps]); return b }, "damaged", false},
		{"file gone, the store existed", nil, "missing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, dbPath, good := usedStore(t)
			if r, _, n := snapshotRoot(t, dbPath); r != root || n != inUse {
				t.Fatalf("the cache's root is page %d of %d bytes in use here, %d of %d in the first store", r, n, root, inUse)
			}
			writeDamaged := func() {
				t.Helper()
				os.Remove(dbPath)
				if tt.damage == nil {
					return
				}
				if err := os.WriteFile(dbPath, tt.damage(bytes.Clone(good)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, args := range [][]string{
				{"status", "-config", e.cfg},
				{"check", "-config", e.cfg, "-dry-run", valid},
				{"check", "-config", e.cfg, valid},
				{"export", "-config", e.cfg, filepath.Join(e.dir, "out.kioskd")},
				{"sync", "-config", e.cfg},
				{"run", "-config", e.cfg},
				{"store", "check", "-config", e.cfg},
			} {
				writeDamaged()
				out, errOut, code := e.run(20*time.Second, args...)
				t.Logf("kioskd %s: exit %d\n%s%s", strings.Join(args[:2], " "), code, out, lastLines(errOut, 2))
				if code != exitError || !strings.Contains(errOut, tt.want) {
					t.Errorf("kioskd %s: exit %d, stderr %q; want 2 and %q", args[0], code, errOut, tt.want)
				}
				if strings.Contains(out+errOut, "panic") || strings.Contains(out+errOut, "goroutine ") {
					t.Errorf("kioskd %s panicked:\n%s", args[0], out+errOut)
				}
				if strings.Contains(out+errOut, valid) {
					t.Errorf("kioskd %s: the code appears in the output", args[0])
				}
			}

			// Recovery: the damaged file is kept aside, the store opens again.
			writeDamaged()
			out, errOut, code := e.run(30*time.Second, "store", "recover", "-config", e.cfg)
			t.Logf("kioskd store recover: exit %d\n%s%s", code, out, errOut)
			if code != exitOK || !strings.Contains(out, "recovered") {
				t.Fatalf("store recover: exit %d %q %q", code, out, errOut)
			}
			if strings.Contains(out+errOut, "panic") || strings.Contains(out+errOut, "goroutine ") {
				t.Errorf("store recover panicked:\n%s", out+errOut)
			}
			aside, _ := filepath.Glob(dbPath + ".damaged-*")
			if tt.damage != nil && len(aside) != 1 {
				t.Errorf("damaged files kept aside: %v, want 1", aside)
			}
			for _, f := range aside {
				os.Remove(f)
			}
			if out, errOut, code := e.run(20*time.Second, "store", "check", "-config", e.cfg); code != exitOK || !strings.Contains(out, "healthy") {
				t.Errorf("store check after recover: exit %d %q %q", code, out, errOut)
			}
			if !tt.keepsUse {
				// The sync's rotated refresh token went with the meta:
				// the store opens, empty (the operator re-authorises).
				if out, errOut, code := e.kioskd("check", "-config", e.cfg, "-dry-run", valid); code != exitReject {
					t.Errorf("check after recover: exit %d %q %q; want 1 (unknown)", code, out, errOut)
				}
				return
			}
			if !strings.Contains(out, "recovered 1 redemptions") {
				t.Errorf("store recover output %q: want 1 redemption recovered", out)
			}
			if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
				t.Fatalf("sync after recover: exit %d %q %q", code, out, errOut)
			}
			if out, errOut, code := e.kioskd("check", "-config", e.cfg, "-dry-run", valid); code != exitReject || !strings.Contains(out, "already-used") {
				t.Errorf("the used code after recover and sync: exit %d %q %q; want 1 and already-used", code, out, errOut)
			}
		})
	}
}

// TestStoreCheckHealthy: a sound store checks healthy (exit 0), with counts.
func TestStoreCheckHealthy(t *testing.T) {
	e := newEnv(t, "")
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync: exit %d %q %q", code, out, errOut)
	}
	out, errOut, code := e.kioskd("store", "check", "-config", e.cfg)
	if code != exitOK || !strings.Contains(out, "healthy") || !strings.Contains(out, "42") {
		t.Errorf("store check: exit %d %q %q; want 0, healthy and the 42 codes", code, out, errOut)
	}
}

// lastLines is the end of a command's stderr (a daemon logs before it fails).
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// TestRunStoreDamagedWhileRunning damages the cache's root page under a
// running daemon (the file is mapped shared: it sees the change at once).
// The code then shown must be a reject with reason error, the store refuses
// everything after (health 503, the problem named), and nothing panics.
func TestRunStoreDamagedWhileRunning(t *testing.T) {
	e := newEnv(t, "")
	valid, _, _ := demoframes.Codes()
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync: exit %d %q %q", code, out, errOut)
	}
	// No sync in the daemon: nothing but the verdicts touches the store.
	// The one-image folder loops so the test can swap what is in view.
	raw, _ := os.ReadFile(e.cfg)
	raw = bytes.Replace(raw, []byte("client_id: test-client"), []byte(`client_id: ""`), 1)
	raw = bytes.Replace(raw, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1)
	os.WriteFile(e.cfg, raw, 0o600)
	dbPath := filepath.Join(e.dir, "state", "kioskd.db")
	root, ps, _ := snapshotRoot(t, dbPath)

	d := startDaemon(t, e)
	d.waitFor("daemon up", 20*time.Second, func(status.Snapshot) bool { return true })
	f, err := os.OpenFile(dbPath, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0x5a}, ps), root*int64(ps)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	d.show("01-code-a.png")
	s := d.waitFor("a verdict", 20*time.Second, func(s status.Snapshot) bool { return len(s.Recent) > 0 })
	if v := s.Recent[0]; v.Accept || v.Reason != "error" {
		t.Errorf("the code on a damaged store: %+v, want a reject with reason error", v)
	}
	s = d.waitFor("the store failure on the status", 10*time.Second, func(s status.Snapshot) bool { return !s.Healthy })
	if len(s.Problems) == 0 || !strings.Contains(s.Problems[0], "store damaged") {
		t.Errorf("problems %q: want the damaged store first", s.Problems)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", e.port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz: %s, want 503", resp.Status)
	}
	if exited, _ := d.stop(10 * time.Second); !exited {
		t.Fatal("no exit after SIGTERM")
	}
	l := d.log.String()
	if strings.Contains(l, "accept=true") {
		t.Error("an accept was logged on a damaged store")
	}
	if !strings.Contains(l, "the store file is damaged") {
		t.Errorf("the log does not say the store is damaged:\n%s", l)
	}
	if strings.Contains(l, "panic:") || strings.Contains(l, "goroutine ") || strings.Contains(l, valid) {
		t.Errorf("a panic trace or the code in the log:\n%s", l)
	}
	// A new start refuses the damaged file.
	if _, errOut, code := e.run(20*time.Second, "run", "-config", e.cfg); code != exitError || !strings.Contains(errOut, "damaged") {
		t.Errorf("restart on the damaged store: exit %d %q", code, lastLines(errOut, 2))
	}
}
