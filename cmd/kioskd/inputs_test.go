package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
)

// ptyScanner is a serial scanner module at the far end of a pty pair; the
// daemon opens the tty through link, as it would a /dev/serial/by-id link.
type ptyScanner struct {
	t      *testing.T
	link   string
	master *os.File
}

func plugScanner(t *testing.T, link string) *ptyScanner {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	name := tty.Name()
	tty.Close()
	if err := os.Symlink(name, link); err != nil {
		t.Fatal(err)
	}
	s := &ptyScanner{t: t, link: link, master: master}
	t.Cleanup(s.unplug)
	return s
}

// unplug is the module pulled out: its tty hangs up and its link goes.
func (s *ptyScanner) unplug() {
	s.master.Close()
	os.Remove(s.link)
}

func (s *ptyScanner) send(text string) {
	s.t.Helper()
	if _, err := s.master.WriteString(text); err != nil {
		s.t.Fatal(err)
	}
}

func inputNamed(s status.Snapshot, name string) (status.Input, bool) {
	for _, in := range s.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return status.Input{}, false
}

// TestRunSerialScanner runs `kioskd run` with a camera and a serial scanner
// module (on a pty) side by side, the sim GPIO and an events receiver. The
// scanner "reads" a good code (re-sent while held: one verdict), the same
// code again after it was away (already used) and a wrong barcode; each
// verdict names the input in the status, the uploaded events and the
// metrics, and the accept pulses the relay. The module unplugged shows the
// fault and a problem naming it; plugged back it reads again, no restart.
func TestRunSerialScanner(t *testing.T) {
	rv := newEventsReceiver(t, 0)
	dir := t.TempDir()
	link := filepath.Join(dir, "usb-Scanner_Module_0001-if00")
	sc := plugScanner(t, link)
	e := newEnv(t, fmt.Sprintf(`events:
  url: %s/ingest
  upload_interval: 1s
inputs:
  - name: door-scanner
    kind: serial
    device: %s
    baud: 115200
    terminator: crlf
`, rv.srv.URL, link))
	raw, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, bytes.Replace(raw, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1), 0o600)
	d := startDaemon(t, e)
	d.waitFor("the sync and the scanner open", 30*time.Second, func(s status.Snapshot) bool {
		in, ok := inputNamed(s, "door-scanner")
		return s.Cache.Count == 42 && ok && in.Up
	})
	if v := metricValue(t, e.port, `kioskd_input_up{input="door-scanner",type="serial"}`); v != 1 {
		t.Errorf("kioskd_input_up for the scanner = %v, want 1", v)
	}

	valid, unknown, dark := demoframes.Codes()
	seen := 0
	scan := func(text, want string) {
		t.Helper()
		sc.send(text)
		s := d.waitFor(want+" verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) > seen })
		seen = len(s.Recent)
		if v := s.Recent[0]; v.Reason != want || v.Input != "door-scanner" {
			t.Errorf("verdict %+v, want %s at door-scanner", v, want)
		}
	}
	// Held: the module re-sends the code; one presentation, one verdict.
	scan(valid+"\r\n"+valid+"\r\n"+valid+"\r\n", "ok")
	if !d.waitLog(relayOn, 1, 10*time.Second) {
		t.Error("the accept did not pulse the relay")
	}
	time.Sleep(400 * time.Millisecond) // the code away for longer than camera.rearm (200ms): a new presentation
	scan(valid+"\r\n", "already-used")
	scan("WIFI:S:venue;T:WPA;;\r\n", "not-a-code")
	scan("https://door.example/?code="+strings.ToUpper(unknown)+"\r\n", "unknown") // the URL form, upper case
	if s, _ := d.status(); len(s.Recent) != 4 {
		t.Errorf("%d verdicts, want 4 (the held code's repeats are not verdicts)", len(s.Recent))
	}
	for series, want := range map[string]float64{
		`kioskd_input_reads_total{input="door-scanner"}`:                          6,
		`kioskd_input_verdicts_total{input="door-scanner",reason="ok"}`:           1,
		`kioskd_input_verdicts_total{input="door-scanner",reason="already-used"}`: 1,
		`kioskd_input_verdicts_total{input="door-scanner",reason="not-a-code"}`:   1,
		`kioskd_input_verdicts_total{input="door-scanner",reason="unknown"}`:      1,
		`kioskd_input_verdicts_total{input="camera",reason="ok"}`:                 0,
		`kioskd_input_up{input="camera",type="camera"}`:                           1,
		`kioskd_verdicts_total{reason="ok",result="accept"}`:                      1,
	} {
		if v := metricValue(t, e.port, series); v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
	// The events carry the input to the receiver.
	deadline := time.Now().Add(30 * time.Second)
	for len(rv.events("verdict")) < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	byReason := map[string]string{}
	for _, ev := range rv.events("verdict") {
		r, _ := ev["reason"].(string)
		in, _ := ev["input"].(string)
		byReason[r] = in
	}
	for _, r := range []string{"ok", "already-used", "not-a-code", "unknown"} {
		if byReason[r] != "door-scanner" {
			t.Errorf("uploaded %s event names input %q, want door-scanner (events %v)", r, byReason[r], rv.events("verdict"))
		}
	}

	// Unplugged: the fault pattern, a problem naming the input, the gauge
	// down; the camera lane goes on.
	d.waitFor("a healthy kiosk", 30*time.Second, func(s status.Snapshot) bool { return s.Healthy })
	if !d.waitLog(`fault indication" component=gpio on=false`, 1, 10*time.Second) {
		t.Fatal("the fault indication of the start-up (no sync yet) never went off")
	}
	sc.unplug()
	s := d.waitFor("the scanner down", 30*time.Second, func(s status.Snapshot) bool {
		in, _ := inputNamed(s, "door-scanner")
		return !in.Up && !s.Healthy
	})
	if !strings.Contains(strings.Join(s.Problems, "; "), "input door-scanner (serial) down") {
		t.Errorf("problems %q do not name the scanner", s.Problems)
	}
	if !d.waitLog(`fault indication" component=gpio on=true`, 2, 10*time.Second) {
		t.Error("no fault indication when the scanner went away")
	}
	if v := metricValue(t, e.port, `kioskd_input_up{input="door-scanner",type="serial"}`); v != 0 {
		t.Errorf("kioskd_input_up after unplugging = %v, want 0", v)
	}
	// Back: healthy again and reading, without a restart.
	sc = plugScanner(t, link)
	d.waitFor("the scanner back", 30*time.Second, func(s status.Snapshot) bool {
		in, _ := inputNamed(s, "door-scanner")
		return in.Up && s.Healthy
	})
	scan(dark+"\r\n", "ok")

	// The camera is an input beside it, named in its verdicts too.
	d.show("01-code-a.png")
	s = d.waitFor("the camera's verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) > seen })
	if v := s.Recent[0]; v.Input != "camera" || v.Reason != "already-used" {
		t.Errorf("camera verdict %+v, want already-used at camera", v)
	}

	if exited, err := d.stop(10 * time.Second); !exited || err != nil {
		t.Fatalf("stop: exited %v, %v", exited, err)
	}
	logs := d.log.String()
	for _, c := range []string{valid, unknown, dark, strings.ToUpper(unknown)} {
		if strings.Contains(logs, c) {
			t.Error("a code appears in the daemon's log")
		}
	}
	if !strings.Contains(logs, "input=door-scanner") {
		t.Error("the log does not name the input")
	}
}

// TestInputTestCommand runs `kioskd input test` as an installer would: it
// prints each scanner input's state and what it reads (a kiosk code by its
// hash prefix only, anything else as text), skips the camera, and stops
// after -count reads.
func TestInputTestCommand(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "ttyScanner")
	sc := plugScanner(t, link)
	cfg := filepath.Join(dir, "kioskd.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state_dir: %s/state
inputs:
  - {name: door-uart, kind: serial, device: %s, terminator: lf}
  - {name: desk-kbd, kind: hid, device: %s/no-such-event-kbd}
`, dir, link, dir)), 0o600)
	cmd := exec.Command(kioskdBin, "input", "test", "-config", cfg, "-count", "2", "-for", "60s")
	cmd.Env = toolEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	var got []string
	wait := func(frag string) {
		t.Helper()
		for _, l := range got {
			if strings.Contains(l, frag) {
				return
			}
		}
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("output ended without %q:\n%s\n%s", frag, strings.Join(got, "\n"), stderr.String())
				}
				got = append(got, l)
				if strings.Contains(l, frag) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q in 30 s:\n%s", frag, strings.Join(got, "\n"))
			}
		}
	}
	wait("door-uart        up")
	// The missing scanner's "down" comes in its own time: under load it
	// came after the two reads that end the command (-count 2).
	wait("desk-kbd         down")
	valid, _, _ := demoframes.Codes()
	sc.send(valid + "\n")
	sc.send("Hello, World\n")
	wait(`not a kiosk code: "Hello, World"`)
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kioskd input test: %v\n%s", err, stderr.String())
	}
	all := strings.Join(got, "\n")
	hash := store.HashCode(valid)[:8]
	for _, frag := range []string{
		"camera           skip  /dev/video0",
		"door-uart        open  serial " + link + " 9600 8N1",
		"desk-kbd         down",
		"no such file or directory (a running kioskd holds the scanner: stop it first)",
		"door-uart        read  64 characters: a kiosk code (hash " + hash + ")",
	} {
		if !strings.Contains(all, frag) {
			t.Errorf("output lacks %q:\n%s", frag, all)
		}
	}
	if strings.Contains(all, valid) {
		t.Error("the code itself was printed")
	}

	// A config without scanners is an error that says so.
	os.WriteFile(cfg, []byte("state_dir: "+dir+"/state\n"), 0o600)
	e := &env{t: t, dir: dir}
	_, errOut, code := e.kioskd("input", "test", "-config", cfg, "-for", "1s")
	if code != 2 || !strings.Contains(errOut, "has no scanner inputs") {
		t.Errorf("without scanners: exit %d, %q", code, errOut)
	}
}

// TestRunScannerOnly: a door with a scanner module and no camera. There is
// no camera to miss (healthy, no camera problem, the watchdog's lane check
// does not wait for frames); a scan opens the door. A module streaming junk
// (no terminator for far longer than a code, control bytes, a line of
// 100 KB) costs a bounded buffer, no verdict for the cut-off lines, and the
// next code still reads.
func TestRunScannerOnly(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUART")
	sc := plugScanner(t, link)
	e := newEnv(t, fmt.Sprintf("inputs:\n  - {name: uart, kind: serial, device: %s}\n", link))
	raw, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, bytes.Replace(raw, []byte("  source: dir:"+e.dir+"/frames\n"), []byte("  source: none\n"), 1), 0o600)
	d := launch(t, e) // camera.source none: no camera
	s := d.waitFor("a healthy scanner-only kiosk", 30*time.Second, func(s status.Snapshot) bool { return s.Healthy && s.Cache.Count == 42 })
	if len(s.Inputs) != 1 || s.Inputs[0].Name != "uart" || s.Camera.Source != "" {
		t.Errorf("inputs %+v, camera %+v: want the scanner alone", s.Inputs, s.Camera)
	}
	valid, _, dark := demoframes.Codes()
	sc.send(valid + "\r")
	s = d.waitFor("the verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) == 1 })
	if v := s.Recent[0]; !v.Accept || v.Input != "uart" {
		t.Errorf("verdict %+v, want an accept at uart", v)
	}
	if !d.waitLog(relayOn, 1, 10*time.Second) {
		t.Error("no relay pulse")
	}
	junk := strings.Repeat("\x02A\x00", 40000) + "\r" + strings.Repeat("x", 100000) + "\r"
	sc.send(junk)
	sc.send(dark + "\r")
	s = d.waitFor("the code after the junk", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) >= 2 })
	if len(s.Recent) != 2 || !s.Recent[0].Accept {
		t.Errorf("after the junk: %+v, want exactly one more verdict, the code's accept (lines over 1 KiB are dropped)", s.Recent)
	}

	// SIGHUP: the old generation lets go of the port (it is opened
	// exclusively) and the new one opens it, under the new settings.
	cfg, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, bytes.Replace(cfg, []byte("kind: serial, device:"), []byte("kind: serial, terminator: lf, device:"), 1), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitFor("the reloaded generation", 30*time.Second, func(s status.Snapshot) bool {
		in, _ := inputNamed(s, "uart")
		return len(s.Recent) == 0 && in.Up
	})
	sc.send(valid + "\n")
	s = d.waitFor("a verdict after the reload", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) == 1 })
	if v := s.Recent[0]; v.Reason != "already-used" || v.Input != "uart" {
		t.Errorf("after the reload: %+v, want already-used at uart (read with the new lf terminator)", v)
	}
	if d.stop(10 * time.Second); d.err != nil {
		t.Errorf("exit: %v", d.err)
	}
	// The outbox names the input too (the last column of events list).
	out, errOut, code := e.kioskd("events", "list", "-config", e.cfg)
	if code != 0 || !strings.Contains(out, "\thash\tinput\n") || strings.Count(out, "\tuart\n") != 3 {
		t.Errorf("events list: exit %d, %q %q; want 3 verdicts at uart", code, out, errOut)
	}
}
