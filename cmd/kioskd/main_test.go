package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// kioskdBin is the binary under test, built once by TestMain: the command
// line is a contract, so it is tested as a user calls it.
var kioskdBin string

func TestMain(m *testing.M) {
	if os.Getenv(netnsURLEnv) != "" {
		os.Exit(netnsGet()) // the client run inside a test's network namespace
	}
	dir, err := os.MkdirTemp("", "kioskd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	kioskdBin = filepath.Join(dir, "kioskd")
	args := []string{"build", "-o", kioskdBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building kioskd: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one kiosk's test world: a stand-in BitBadges API, secrets, a state
// folder and a config file.
type env struct {
	t    *testing.T
	dir  string
	cfg  string
	srv  *bbtest.Server
	port int
}

func newEnv(t *testing.T, extra string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.srv = bbtest.NewServer(bbtest.Options{ClientID: "test-client"})
	t.Cleanup(e.srv.Close)
	valid, _, dark := demoframes.Codes()
	e.srv.AddCode(valid, "Valid guest")
	e.srv.AddCode(dark, "Dark guest")
	e.srv.AddCodes(40)
	o := e.srv.Options()
	for name, v := range map[string]string{"api_key": o.APIKey, "client_secret": o.ClientSecret, "refresh_token": o.RefreshToken} {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.port = freePort(t)
	if !strings.Contains(extra, "kiosk_id:") {
		extra += "\nkiosk_id: test-door\n"
	}
	cfg := fmt.Sprintf(`state_dir: %s/state
log_level: debug
bitbadges:
  api_url: %s
  client_id: test-client
  api_key_file: api_key
  client_secret_file: client_secret
  refresh_token_file: refresh_token
  sync_schedule: "@every 1h"
camera:
  source: dir:%s/frames
  fps: 4
  rearm: 200ms
gpio:
  driver: sim
  accept_led: {line: GPIO27}
  reject_led: {line: GPIO22}
  relay: {line: GPIO17, pulse: 500ms}
  accept_for: 200ms
  reject_for: 200ms
http:
  listen: 127.0.0.1:%d
%s`, e.dir, e.srv.URL(), e.dir, e.port, extra)
	e.cfg = filepath.Join(e.dir, "kioskd.yaml")
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// kioskd runs the binary to completion and returns its output and exit code.
func (e *env) kioskd(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kioskdBin, args...)
	cmd.Dir, cmd.Env = e.dir, toolEnv()
	var o, er bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &er
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		e.t.Fatalf("kioskd %v: %v", args, err)
	}
	return o.String(), er.String(), code
}

// toolEnv is the environment of a one-shot kioskd command (sync, check,
// status...). A -race binary sleeps a second at exit by default
// (GORACE atexit_sleep_ms) in case goroutines still running have a race to
// report; a one-shot command has none left, and the sleep made every call
// take over a second. Daemons keep the default. A GORACE of the caller's wins.
func toolEnv() []string {
	if _, set := os.LookupEnv("GORACE"); set {
		return os.Environ()
	}
	return append(os.Environ(), "GORACE=atexit_sleep_ms=0")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestToolsAgainstTheStandIn(t *testing.T) {
	e := newEnv(t, "")
	valid, unknown, _ := demoframes.Codes()

	out, errOut, code := e.kioskd("check", "-config", e.cfg, "-dry-run", valid)
	if code != exitReject || !strings.Contains(out, "unknown") {
		t.Errorf("check before any sync: exit %d, %q %q; want 1 and unknown", code, out, errOut)
	}
	out, errOut, code = e.kioskd("sync", "-config", e.cfg)
	if code != exitOK || !strings.Contains(out, "synced 42 codes") {
		t.Fatalf("sync: exit %d, %q %q", code, out, errOut)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"dry run accepts", []string{"-dry-run", valid}, exitOK, "accept\tok"},
		{"dry run recorded nothing", []string{"-dry-run", valid}, exitOK, "accept\tok"},
		{"upper case and URL form", []string{"https://x.example/?code=" + strings.ToUpper(valid)}, exitOK, "accept\tok"},
		{"recorded: second use", []string{valid}, exitReject, "reject\talready-used"},
		{"unknown", []string{unknown}, exitReject, "reject\tunknown"},
		{"not a code", []string{"hello"}, exitReject, "reject\tnot-a-code"},
	}
	for _, tt := range tests {
		out, errOut, code := e.kioskd(append([]string{"check", "-config", e.cfg}, tt.args...)...)
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("%s: exit %d, %q %q; want %d and %q", tt.name, code, out, errOut, tt.code, tt.want)
		}
		if strings.Contains(out+errOut, valid) || strings.Contains(out+errOut, unknown) {
			t.Errorf("%s: a code appears in the output", tt.name)
		}
	}

	out, errOut, code = e.kioskd("status", "-config", e.cfg, "-json")
	if code != exitOK {
		t.Fatalf("status: exit %d %q", code, errOut)
	}
	var s status.Snapshot
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status -json: %v\n%s", err, out)
	}
	if s.Cache.Count != 42 || !s.Offline || s.Events.Pending != 4 {
		t.Errorf("status: count %d offline %v pending %d; want 42, true, 4 (events of the non-dry checks)", s.Cache.Count, s.Offline, s.Events.Pending)
	}

	// Export, then import into a fresh kiosk that has never been online.
	snap := filepath.Join(e.dir, "cache.kioskd")
	if out, errOut, code = e.kioskd("export", "-config", e.cfg, snap); code != exitOK {
		t.Fatalf("export: exit %d %q %q", code, out, errOut)
	}
	raw, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(valid)) {
		t.Error("the export holds a raw code")
	}
	e2 := newEnv(t, "")
	if out, errOut, code = e2.kioskd("import", "-config", e2.cfg, snap); code != exitOK || !strings.Contains(out, "imported 42") {
		t.Fatalf("import: exit %d %q %q", code, out, errOut)
	}
	if out, _, code = e2.kioskd("check", "-config", e2.cfg, "-dry-run", valid); code != exitOK {
		t.Errorf("check after import: exit %d %q", code, out)
	}
	// A damaged file is refused and the cache stays.
	raw[len(raw)/2] ^= 0xff
	bad := filepath.Join(e.dir, "bad.kioskd")
	os.WriteFile(bad, raw, 0o600)
	if _, errOut, code = e2.kioskd("import", "-config", e2.cfg, bad); code != exitError || !strings.Contains(errOut, "unchanged") {
		t.Errorf("import of a damaged file: exit %d %q", code, errOut)
	}
	if _, _, code = e2.kioskd("check", "-config", e2.cfg, "-dry-run", valid); code != exitOK {
		t.Errorf("the cache did not survive a refused import")
	}
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t, "")
	bad := filepath.Join(e.dir, "bad.yaml")
	os.WriteFile(bad, []byte("policy:\n  reuse: twice\n"), 0o600)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, exitError, "unknown command"},
		{[]string{"check", "-config", e.cfg}, exitError, "exactly one CODE"},
		{[]string{"check", "-config", bad, "x"}, exitError, "policy.reuse"},
		{[]string{"run", "-config", filepath.Join(e.dir, "missing.yaml")}, exitError, "missing.yaml"},
		{[]string{"decode"}, exitError, "Usage"},
		{[]string{"sync", "-bogus"}, exitError, "bogus"},
		{[]string{"-h"}, exitOK, "Commands:"},
		{[]string{"version"}, exitOK, "kioskd "},
	}
	for _, tt := range tests {
		out, errOut, code := e.kioskd(tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("kioskd %v: exit %d, %q %q; want %d and %q", tt.args, code, out, errOut, tt.code, tt.want)
		}
		if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine ") {
			t.Errorf("kioskd %v panicked:\n%s", tt.args, errOut)
		}
	}
}

func TestDecodeCommand(t *testing.T) {
	e := newEnv(t, "")
	frames := filepath.Join(e.dir, "frames")
	writeDemoFrames(t, frames, nil)
	out, errOut, code := e.kioskd("decode", "-repeat", "3", frames)
	if code != exitOK {
		t.Fatalf("decode: exit %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(demoframes.List()) {
		t.Fatalf("decode printed %d lines for %d frames:\n%s", len(lines), len(demoframes.List()), out)
	}
	for i, f := range demoframes.List() {
		cols := strings.Split(lines[i], "\t")
		if len(cols) != 4 {
			t.Fatalf("line %q: want 4 TSV columns", lines[i])
		}
		wantOK := "1"
		if f.Text == "" {
			wantOK = "0"
		}
		if !strings.HasSuffix(cols[0], f.Name) || cols[1] != wantOK || cols[3] != f.Text {
			t.Errorf("line %q: want %s, %s, %q", lines[i], f.Name, wantOK, f.Text)
		}
	}
}

// writeDemoFrames writes the bundled frames named in order (all when nil).
func writeDemoFrames(t *testing.T, dir string, order []string) {
	t.Helper()
	if order == nil {
		for _, f := range demoframes.List() {
			order = append(order, f.Name)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i, name := range order {
		data, err := fs.ReadFile(demoframes.FS(), name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s", i, name)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunDaemon runs `kioskd run` on replayed frames with the sim GPIO:
// it syncs at start-up, decides on each frame, serves its status, refuses a
// bad config on SIGHUP, takes a good one and stops cleanly on SIGTERM.
//
// The camera is a looping one-image folder whose image the test swaps
// (show): like a real camera it drops frames when the lane is late, so the
// test waits for each verdict rather than scripting a frame sequence.
func TestRunDaemon(t *testing.T) {
	e := newEnv(t, "")
	raw, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, bytes.Replace(raw, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1), 0o600)
	d := startDaemon(t, e)
	d.waitFor("the start-up sync", 30*time.Second, func(s status.Snapshot) bool { return s.Cache.Count == 42 && !s.Offline })
	seen := 0
	step := func(frame, want string) {
		t.Helper()
		d.show(frame)
		s := d.waitFor(frame+"'s verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) > seen })
		if seen = len(s.Recent); s.Recent[0].Reason != want {
			t.Errorf("%s: verdict %q, want %q", frame, s.Recent[0].Reason, want)
		}
	}
	step("01-code-a.png", "ok")
	d.showBlank() // the code leaves the view: shown again it is a new scan
	step("02-code-a-again.png", "already-used")
	step("04-code-b-unknown.png", "unknown")
	step("05-url-not-a-code.png", "not-a-code")
	step("06-dark-mode-code-c.png", "ok")
	d.showBlank()

	// A bad config on SIGHUP is refused; the daemon keeps serving.
	good, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, []byte("policy: {reuse: twice}\n"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	if !d.waitLog("reload refused", 1, 10*time.Second) {
		t.Error("no 'reload refused' in the log 10 s after a bad config")
	}
	if s, err := d.status(); err != nil || len(s.Recent) != seen {
		t.Errorf("after a refused reload: %d verdicts (%v), want the running generation's %d", len(s.Recent), err, seen)
	}

	// A good one is taken: a new generation, with a history of its own,
	// under the new policy, so the used code is good again.
	os.WriteFile(e.cfg, append(good, "policy: {reuse: unlimited}\n"...), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitFor("the reloaded generation", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) == 0 })
	seen = 0
	step("01-code-a.png", "ok")

	if exited, err := d.stop(10 * time.Second); !exited {
		t.Fatal("no exit 10 s after SIGTERM")
	} else if err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	logs := d.log.String()
	if !strings.Contains(logs, "reload refused") || !strings.Contains(logs, "reloading configuration") {
		t.Errorf("the log does not show the refused and the accepted reload")
	}
	valid, unknown, dark := demoframes.Codes()
	for _, c := range []string{valid, unknown, dark, e.srv.Options().APIKey, e.srv.Options().ClientSecret} {
		if strings.Contains(logs, c) {
			t.Errorf("a code or secret appears in the daemon's log")
		}
	}
	if strings.Contains(logs, "panic") {
		t.Errorf("panic in the log")
	}
}
