package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/status"
)

// TestDeskStaffFileReload: the desk's staff_file is read again on SIGHUP. A
// staff file that has become unreadable or malformed refuses the reload as a
// whole, as any invalid reload is: a "reload refused" line naming the file
// (and the line, for a malformed one) and never a token, the running
// generation untouched, so the old staff list keeps working at the desk. A
// staff file readable by every user (0644) is taken, with a warning, as the
// daemon's other secret files are. A good one replaces the staff list.
// Before, the staff file was not part of the SIGHUP preflight: the old
// generation was stopped, the new one failed at start-up, and so did the
// previous configuration brought back (it reads the same file), so the
// daemon exited 2.
func TestDeskStaffFileReload(t *testing.T) {
	e := pagesEnv(t, "", "    - kind: desk\n      staff_file: staff\n")
	staff := filepath.Join(e.dir, "staff")
	const (
		adaTok   = "ada-5f1d0c2b9e8a7f6e"
		graceTok = "grace-0a1b2c3d4e5f6a7b"
		linTok   = "lin-77c1a9e0b3d24f58"
	)
	write := func(text string, mode os.FileMode) {
		t.Helper()
		os.RemoveAll(staff)
		if err := os.WriteFile(staff, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(staff, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	write("# desk staff\nada "+adaTok+"\ngrace "+graceTok+"\n", 0o600)
	d := startDaemon(t, e)
	d.waitFor("the start-up sync", 30*time.Second, func(s status.Snapshot) bool { return s.Cache.Count == 42 })
	// ask is the staff name the desk knows tok by ("" if none), or an
	// error while the desk does not answer (between two generations).
	ask := func(tok string) (string, error) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/desk/whoami", e.port), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var m map[string]string
		json.NewDecoder(resp.Body).Decode(&m)
		return m["name"], nil
	}
	whoami := func(tok string) string { // ask, where the desk must answer
		t.Helper()
		name, err := ask(tok)
		if err != nil {
			t.Fatalf("the desk does not answer: %v (daemon exited: %v, %v)", err, d.done, d.err)
		}
		return name
	}
	if whoami(adaTok) != "ada" {
		t.Fatal("the desk does not know ada at start-up")
	}

	refused := []struct {
		name string
		set  func()
		want []string // in the refusal's log line
	}{
		{"a line without a token", func() { write("ada "+adaTok+"\nlin\n", 0o600) }, []string{"staff_file staff: line 2: want"}},
		{"a duplicate name", func() { write("ada "+adaTok+"\nlin "+linTok+"\nada "+graceTok+"\n", 0o600) }, []string{`staff_file staff: line 3: name \"ada\" appears twice`}},
		{"a short token", func() { write("lin short-secret\n", 0o600) }, []string{"staff_file staff: line 1 (lin): the token is shorter"}},
		{"an empty file", func() { write("", 0o600) }, []string{"http.pages desk.staff_file: the file it names is empty"}},
		{"comments only", func() { write("# nobody\n", 0o600) }, []string{`staff_file staff: no \"name token\" line`}},
		{"the file gone", func() { os.RemoveAll(staff) }, []string{"http.pages desk.staff_file: cannot read the file it names: no such file"}},
		{"a folder in its place", func() { os.RemoveAll(staff); os.Mkdir(staff, 0o700) }, []string{"http.pages desk.staff_file: the file it names is not a regular file"}},
	}
	for i, tt := range refused {
		tt.set()
		d.cmd.Process.Signal(syscall.SIGHUP)
		if !d.waitLog("reload refused", i+1, 20*time.Second) {
			t.Fatalf("%s: no refusal logged (daemon exited: %v, %v)", tt.name, d.done, d.err)
		}
		var last string
		for l := range strings.SplitSeq(d.log.String(), "\n") {
			if strings.Contains(l, "reload refused") {
				last = l
			}
		}
		for _, w := range tt.want {
			if !strings.Contains(last, w) {
				t.Errorf("%s: the refusal %q does not say %q", tt.name, last, w)
			}
		}
		if d.done {
			t.Fatalf("%s: the daemon exited: %v", tt.name, d.err)
		}
		// The old staff list still holds, and nothing of the bad file does.
		if whoami(adaTok) != "ada" || whoami(graceTok) != "grace" || whoami(linTok) != "" {
			t.Errorf("%s: after the refused reload the desk knows ada %q, grace %q, lin %q; want the old list",
				tt.name, whoami(adaTok), whoami(graceTok), whoami(linTok))
		}
	}

	// Readable by every user: taken, with a warning naming the file.
	write("ada "+adaTok+"\nlin "+linTok+"\n", 0o644)
	d.cmd.Process.Signal(syscall.SIGHUP)
	if !d.waitLog("reloading configuration", 1, 20*time.Second) {
		t.Fatalf("a 0644 staff file: the reload was not taken (daemon exited: %v, %v)", d.done, d.err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for name, _ := ask(linTok); name != "lin"; name, _ = ask(linTok) {
		if time.Now().After(deadline) || d.done {
			t.Fatalf("the reloaded desk never knew lin (daemon exited: %v, %v)", d.done, d.err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if whoami(graceTok) != "" {
		t.Error("grace, no longer in the staff file, is still known after the reload")
	}
	if !strings.Contains(d.log.String(), staff+" is readable by every user; chmod 600 it") {
		t.Error("no warning about the staff file readable by every user")
	}

	if exited, err := d.stop(10 * time.Second); !exited || err != nil {
		t.Errorf("stop: exited %v, %v", exited, err)
	}
	for _, tok := range []string{adaTok, graceTok, linTok, "short-secret"} {
		if strings.Contains(d.log.String(), tok) {
			t.Errorf("a staff token appears in the daemon's log")
		}
	}
}
