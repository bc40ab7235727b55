package systemd

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestSyscallsAllowed runs `kioskd demo` (the real sync client, store,
// decoder, HTTP and outputs, on the embedded sample) under strace and checks
// every system call it makes against the unit's SystemCallFilter=, expanded
// by systemd-analyze itself. A call outside the filter would fail with EPERM
// on a kiosk (SystemCallErrorNumber=EPERM) while every test here passed.
func TestSyscallsAllowed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and straces kioskd; skipped with -short")
	}
	analyze := systemdAnalyze(t)
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed (apt-get install strace)")
	}
	allow, deny := filterSets(t, analyze)
	if len(allow) < 100 {
		t.Fatalf("the allow list has only %d calls: systemd-analyze output not understood", len(allow))
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "kioskd")
	build := exec.Command("go", "build", "-o", bin, "../cmd/kioskd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kioskd: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	summary := filepath.Join(dir, "strace.txt")
	run := exec.CommandContext(ctx, strace, "-f", "-qq", "-c", "-o", summary, bin, "demo")
	run.Dir = dir
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("kioskd demo under strace: %v\n%s", err, out)
	}
	used := stracedCalls(t, summary)
	if len(used) < 20 {
		t.Fatalf("only %d system calls seen: strace output not understood", len(used))
	}
	var bad []string
	for _, c := range used {
		if c == "execve" { // strace starting kioskd, before any filter applies
			continue
		}
		if !allow[c] || deny[c] {
			bad = append(bad, c)
		}
	}
	t.Logf("%d distinct system calls, all allowed", len(used))
	if len(bad) > 0 {
		t.Errorf("kioskd makes system calls the unit's SystemCallFilter= refuses: %v", bad)
	}
}

// filterSets expands the unit's SystemCallFilter= lines: plain ones allow,
// "~" ones deny (the unit's first filter line is an allow list).
func filterSets(t *testing.T, analyze string) (allow, deny map[string]bool) {
	t.Helper()
	allow, deny = map[string]bool{}, map[string]bool{}
	for _, l := range directives(t)["Service"] {
		v, ok := strings.CutPrefix(l, "SystemCallFilter=")
		if !ok {
			continue
		}
		set := allow
		if rest, neg := strings.CutPrefix(v, "~"); neg {
			set, v = deny, rest
		}
		for _, item := range strings.Fields(v) {
			for c := range expand(t, analyze, item, map[string]bool{}) {
				set[c] = true
			}
		}
	}
	return allow, deny
}

// expand resolves a syscall group (recursively) or returns a single call.
func expand(t *testing.T, analyze, item string, seen map[string]bool) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if !strings.HasPrefix(item, "@") {
		out[item] = true
		return out
	}
	if seen[item] {
		return out
	}
	seen[item] = true
	b, err := exec.Command(analyze, "syscall-filter", "--no-pager", item).Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter %s: %v", item, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	header := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, item) {
			header = true // the group's own listing starts here
			continue
		}
		f := strings.TrimSpace(line)
		if !header || f == "" || strings.HasPrefix(f, "#") || strings.Contains(f, " ") {
			continue
		}
		for c := range expand(t, analyze, f, seen) {
			out[c] = true
		}
	}
	return out
}

// stracedCalls reads the syscall column of `strace -c` output.
func stracedCalls(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 || strings.HasPrefix(f[0], "-") || f[0] == "%" {
			continue
		}
		if name := f[len(f)-1]; name != "total" {
			calls = append(calls, name)
		}
	}
	sort.Strings(calls)
	return calls
}
