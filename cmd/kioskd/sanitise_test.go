package main

import (
	"strings"
	"testing"

	"github.com/kioskd/kioskd/status"
)

// TestCheckPrintsCleanName (issue 15, item 12c): a record's name comes from
// the server and may hold terminal escapes, newlines and tabs. `kioskd
// check` prints it as `kioskd status` does, through status.OneLine: one
// line, three TSV fields, no escape sequence for the operator's terminal.
func TestCheckPrintsCleanName(t *testing.T) {
	e := newEnv(t, "")
	code := strings.Repeat("5e", 32)
	hostile := "Eve\x1b[2J\x1b]0;owned\x07 guest\r\nFAKE\taccept\u202eok\u009b31m\x7f"
	e.srv.AddCode(code, hostile)
	if out, errOut, rc := e.kioskd("sync", "-config", e.cfg); rc != exitOK {
		t.Fatalf("sync: exit %d %q %q", rc, out, errOut)
	}
	for _, args := range [][]string{{"-dry-run", code}, {code}} {
		out, errOut, rc := e.kioskd(append([]string{"check", "-config", e.cfg}, args...)...)
		if rc != exitOK {
			t.Fatalf("check %v: exit %d %q %q", args, rc, out, errOut)
		}
		fields := strings.Split(strings.TrimSuffix(out, "\n"), "\t")
		if strings.Count(out, "\n") != 1 || len(fields) != 3 || fields[0] != "accept" {
			t.Fatalf("check %v printed %q, want one line of 3 fields", args, out)
		}
		if want := status.OneLine(hostile); fields[2] != want {
			t.Errorf("check %v: name %q, want %q (as status shows it)", args, fields[2], want)
		}
		if strings.ContainsAny(out, "\x1b\x07\r\x7f\u009b\u202e") {
			t.Errorf("check %v: control characters reach the terminal: %q", args, out)
		}
	}
}
