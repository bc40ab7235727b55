package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// clockStatus is `kioskd status -json`'s clock, as an operator reads it.
func clockStatus(t *testing.T, e *env) status.Snapshot {
	t.Helper()
	out, errOut, code := e.kioskd("status", "-config", e.cfg, "-json")
	if code != exitOK {
		t.Fatalf("status: exit %d %q", code, errOut)
	}
	var s status.Snapshot
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status -json: %v\n%s", err, out)
	}
	return s
}

// TestClockAgainstAFutureDate is issue 15, item 3, as an outsider sees it:
// the real binary against a BitBadges stand-in whose answers say
// Date: 2100-01-01. Before the fix one such answer, even a failed 402, moved
// the trusted time to 2100 for good, and with untrusted_clock and
// stale_cache at reject every code was refused from then on.
func TestClockAgainstAFutureDate(t *testing.T) {
	e := newEnv(t, "policy:\n  max_cache_age: 24h\n  stale_cache: reject\n  untrusted_clock: reject\n")
	valid, _, other := demoframes.Codes()
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	near := func(tt time.Time) bool { return !tt.After(time.Now().Add(time.Hour)) }
	checkOther := func(step, want string, wantCode int) {
		t.Helper()
		out, errOut, code := e.kioskd("check", "-config", e.cfg, "-dry-run", other)
		if code != wantCode || !strings.Contains(out, want) {
			t.Fatalf("%s: check: exit %d %q %q; want %d and %q", step, code, out, errOut, wantCode, want)
		}
	}

	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("first sync: exit %d %q %q", code, out, errOut)
	}
	if out, _, code := e.kioskd("check", "-config", e.cfg, valid); code != exitOK {
		t.Fatalf("first use of a code: exit %d %q", code, out)
	}
	floor := clockStatus(t, e).Clock.TrustedTime
	if floor.IsZero() || !near(floor) {
		t.Fatalf("trusted time after a normal sync: %v", floor)
	}

	// Failed answers carrying a Date in 2100: nothing moves.
	for _, f := range []struct {
		name  string
		fault bbtest.Fault
	}{
		{"402 out of credits", bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: http.StatusPaymentRequired}},
		{"500 on every page attempt", bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: http.StatusInternalServerError}},
		{"401 everywhere", bbtest.Fault{Kind: bbtest.Status, Status: http.StatusUnauthorized}},
	} {
		f.fault.Date = future
		e.srv.Inject(f.fault)
		if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitError {
			t.Fatalf("%s: sync exit %d %q %q, want a failure", f.name, code, out, errOut)
		}
		e.srv.ClearFaults()
		s := clockStatus(t, e)
		if !s.Clock.Trusted || !near(s.Clock.TrustedTime) {
			t.Fatalf("%s: clock trusted %v, trusted time %v; want trusted and unchanged", f.name, s.Clock.Trusted, s.Clock.TrustedTime)
		}
		checkOther(f.name, "accept\tok", exitOK)
	}

	// A successful sync saying 2100: the cache is taken, the time is only held.
	e.srv.Inject(bbtest.Fault{Date: future})
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync dated 2100: exit %d %q %q", code, out, errOut)
	}
	s := clockStatus(t, e)
	if !s.Clock.Trusted || !near(s.Clock.TrustedTime) || !near(s.Cache.LastSync) || s.Cache.Count != 42 {
		t.Fatalf("after one sync dated 2100: clock trusted %v at %v, last sync %v, %d codes", s.Clock.Trusted, s.Clock.TrustedTime, s.Cache.LastSync, s.Cache.Count)
	}
	checkOther("one sync dated 2100", "accept\tok", exitOK)
	if out, _, code := e.kioskd("clock", "show", "-config", e.cfg); code != exitOK || !strings.Contains(out, "held jump") || !strings.Contains(out, "clock         trusted") {
		t.Fatalf("clock show: exit %d\n%s", code, out)
	}

	// A second sync that agrees: believed (by design), so the clock is now
	// untrusted, and this policy refuses every code.
	e.srv.ClearFaults()
	e.srv.Inject(bbtest.Fault{Date: future.Add(time.Second)})
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("second sync dated 2100: exit %d %q %q", code, out, errOut)
	}
	e.srv.ClearFaults()
	if s = clockStatus(t, e); s.Clock.Trusted || s.Clock.TrustedTime.Before(future) {
		t.Fatalf("after two agreeing syncs: clock trusted %v at %v; want the jump believed", s.Clock.Trusted, s.Clock.TrustedTime)
	}
	checkOther("two syncs dated 2100", "reject\tclock-untrusted", exitReject)

	// An export of that kiosk is dated 2100: importing it elsewhere does not
	// lock that kiosk's clock.
	snap := filepath.Join(e.dir, "dated-2100.kioskd")
	if out, errOut, code := e.kioskd("export", "-config", e.cfg, snap); code != exitOK {
		t.Fatalf("export: exit %d %q %q", code, out, errOut)
	}
	e2 := newEnv(t, "policy:\n  max_cache_age: 24h\n  stale_cache: reject\n  untrusted_clock: reject\n")
	if out, errOut, code := e2.kioskd("import", "-config", e2.cfg, snap); code != exitOK {
		t.Fatalf("import: exit %d %q %q", code, out, errOut)
	}
	if s2 := clockStatus(t, e2); !s2.Clock.Trusted || !s2.Clock.TrustedTime.IsZero() || !near(s2.Cache.LastSync) {
		t.Fatalf("after importing a file dated 2100: clock trusted %v at %v, last sync %v", s2.Clock.Trusted, s2.Clock.TrustedTime, s2.Cache.LastSync)
	}
	if out, _, code := e2.kioskd("check", "-config", e2.cfg, "-dry-run", other); code != exitOK {
		t.Fatalf("check after the import: exit %d %q", code, out)
	}

	// Under cooldown and last-known, a first use is accepted as at the
	// trusted time, 2100: that stamp would keep the code already-used until
	// 2100 plus the cooldown, whatever the reset did to the floor.
	base, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cooldownCfg := filepath.Join(e.dir, "cooldown.yaml")
	os.WriteFile(cooldownCfg, []byte(strings.Replace(string(base),
		"policy:\n  max_cache_age: 24h\n  stale_cache: reject\n  untrusted_clock: reject\n",
		"policy:\n  reuse: cooldown\n  cooldown: 1s\n  untrusted_clock: last-known\n", 1)), 0o600)
	var third string
	for _, c := range e.srv.Codes() {
		if c != valid && c != other {
			third = c
			break
		}
	}
	if out, errOut, code := e.kioskd("check", "-config", cooldownCfg, third); code != exitOK {
		t.Fatalf("cooldown code under the 2100 floor: exit %d %q %q", code, out, errOut)
	}

	// The way out needs the daemon stopped: the store is one process's.
	d := startDaemon(t, e)
	d.waitFor("daemon up", 30*time.Second, func(status.Snapshot) bool { return true })
	if out, errOut, code := e.kioskd("clock", "reset", "-config", e.cfg); code != exitError || !strings.Contains(errOut, "daemon running") {
		t.Fatalf("clock reset beside a running daemon: exit %d %q %q", code, out, errOut)
	}
	if ok, err := d.stop(20 * time.Second); !ok || err != nil {
		t.Fatalf("stopping the daemon: exited %v, %v", ok, err)
	}
	out, errOut, code := e.kioskd("clock", "reset", "-config", e.cfg)
	if code != exitOK || !strings.Contains(out, "2100") || !strings.Contains(out, "-> never") ||
		!strings.Contains(out, "42 codes") || !strings.Contains(out, "restamped     1 codes") {
		t.Fatalf("clock reset: exit %d %q %q", code, out, errOut)
	}
	reset := time.Now()
	if s = clockStatus(t, e); !s.Clock.Trusted || !s.Clock.TrustedTime.IsZero() || s.Cache.Count != 42 || !near(s.Cache.LastSync) {
		t.Fatalf("after the reset: clock trusted %v at %v, %d codes, last sync %v", s.Clock.Trusted, s.Clock.TrustedTime, s.Cache.Count, s.Cache.LastSync)
	}
	checkOther("after the reset", "accept\tok", exitOK)
	if out, _, code := e.kioskd("check", "-config", e.cfg, "-dry-run", valid); code != exitReject || !strings.Contains(out, "already-used") {
		t.Fatalf("the redemption before the reset was lost: exit %d %q", code, out)
	}
	// The cooldown code was restamped at the reset: it may enter again once
	// the 1 s cooldown has passed since (real time must pass: nothing to
	// synchronise with).
	time.Sleep(time.Until(reset.Add(1500 * time.Millisecond)))
	if out, errOut, code := e.kioskd("check", "-config", cooldownCfg, "-dry-run", third); code != exitOK {
		t.Fatalf("cooldown code after the reset: exit %d %q %q; want it admitted again", code, out, errOut)
	}
	// And a normal sync sets the trusted time again.
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync after the reset: exit %d %q %q", code, out, errOut)
	}
	if s = clockStatus(t, e); !s.Clock.Trusted || s.Clock.TrustedTime.IsZero() || !near(s.Clock.TrustedTime) {
		t.Fatalf("after a sync following the reset: clock trusted %v at %v", s.Clock.Trusted, s.Clock.TrustedTime)
	}
}

func TestClockUsage(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"clock"}, "Usage: kioskd clock show"},
		{[]string{"clock", "set", "-config", e.cfg}, "Usage: kioskd clock show"},
		{[]string{"clock", "reset", "-config", e.cfg, "-to", "yesterday"}, "RFC3339"},
		{[]string{"clock", "reset", "-config", e.cfg, "-to", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, "later than this device's clock"},
		{[]string{"clock", "show", "-config", e.cfg, "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		out, errOut, code := e.kioskd(tt.args...)
		if code != exitError || !strings.Contains(errOut, tt.want) {
			t.Errorf("kioskd %v: exit %d %q %q; want 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	out, errOut, code := e.kioskd("clock", "show", "-config", e.cfg)
	if code != exitOK || !strings.Contains(out, "trusted time  never") || !strings.Contains(out, "clock         trusted") {
		t.Errorf("clock show on a new kiosk: exit %d %q %q", code, out, errOut)
	}
}
