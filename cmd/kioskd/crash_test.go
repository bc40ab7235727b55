package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/status"
)

// generation is one complete cache the kiosk may hold: its size, and a
// marker code that only this generation contains.
type generation struct {
	name   string
	count  int
	marker string
}

// TestCrashKioskdProcess kills real kioskd processes with SIGKILL at random
// moments of a large `kioskd sync`, a `kioskd import` and a recording
// `kioskd check`, and proves after each kill that the store opens, holds
// exactly the old or the new snapshot (by size and by the markers only one
// of them contains), and that every redemption kioskd acknowledged (check
// printed accept and exited 0) is still there. store's own crash test does
// the same on the store API in a child process; this one is the binary an
// operator runs, with its own signal handling, start-up and shutdown paths.
//
// KIOSKD_CRASH_SEED replays a run's kill points; KIOSKD_CRASH_ROUNDS sets
// how many kills (default 12).
func TestCrashKioskdProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("kills kioskd processes during large syncs (-short)")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KIOSKD_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rounds := 12
	if s := os.Getenv("KIOSKD_CRASH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	t.Logf("KIOSKD_CRASH_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	e := newEnv(t, "")
	// The kiosk's first snapshot: the 42 codes newEnv adds, a base that every
	// later generation keeps (the redemptions use those), and a marker.
	base := e.srv.AddCodes(3000)
	marker := e.srv.AddCodes(1)[0]
	start := time.Now()
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("first sync: exit %d %q %q", code, out, errOut)
	}
	syncTook := time.Since(start)
	cur := generation{name: "gen0", count: e.cacheCount(), marker: marker}
	gen0, served := cur, cur
	snap := filepath.Join(e.dir, "gen0.kioskd")
	if out, errOut, code := e.kioskd("export", "-config", e.cfg, snap); code != exitOK {
		t.Fatalf("export: exit %d %q %q", code, out, errOut)
	}
	// How long each command takes here when not killed, so that the kill
	// points spread over a whole run (and a quarter beyond, so that some
	// runs complete). A sync's time grows with the codes it fetches.
	timed := func(args ...string) time.Duration {
		start := time.Now()
		if out, errOut, code := e.kioskd(args...); code != exitOK {
			t.Fatalf("%v: exit %d %q %q", args, code, out, errOut)
		}
		return time.Since(start)
	}
	importTook := timed("import", "-config", e.cfg, snap)
	checkTook := timed("check", "-config", e.cfg, "-dry-run", base[0])
	t.Logf("gen0: %d codes; sync %v, import %v, check %v", cur.count, syncTook.Round(time.Millisecond),
		importTook.Round(time.Millisecond), checkTook.Round(time.Millisecond))

	// The stored refresh token dies if a kill lands between the server's
	// rotation and kioskd's fsync of the new one (no client can close that
	// window). The operator's remedy, a fresh token in the file, is kioskd's
	// documented fallback: each sync gets one.
	freshToken := func() {
		if err := os.WriteFile(filepath.Join(e.dir, "refresh_token"), []byte(e.srv.RefreshToken()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	var acked []string // codes whose redemption kioskd acknowledged
	next := 0          // the next unused base code
	kills, completed := 0, 0
	for round := range rounds {
		var (
			args []string
			to   generation // what a completed run leaves
			kind string
			code string
		)
		switch round % 3 {
		case 0, 1: // a sync to a new generation: 1,000 more codes, a new marker
			// The server's set grows; what a complete sync yields is
			// served, whatever the kiosk holds now (an import may have taken
			// it back to gen0).
			kind = "sync"
			e.srv.Remove(served.marker)
			const more = 1000
			e.srv.AddCodes(more)
			// AddCodes soft-deletes every 50th code; one marker in, one out.
			served = generation{name: "gen" + strconv.Itoa(round+1), count: served.count + more - more/50, marker: e.srv.AddCodes(1)[0]}
			to = served
			freshToken()
			args = []string{"sync", "-config", e.cfg}
		case 2: // an import of the first snapshot over the current one
			kind = "import"
			to = gen0
			args = []string{"import", "-config", e.cfg, snap}
		}
		// Every round also redeems one base code, killed at its own moment.
		code = base[next]
		next++

		limit := importTook
		if kind == "sync" {
			limit = time.Duration(float64(syncTook) * float64(to.count) / float64(gen0.count))
		}
		limit += limit / 4
		killAt := time.Duration(rng.Int64N(int64(limit)))
		out, done := e.runKilled(killAt, args...)
		after := e.cacheState(t, cur, to)
		if done {
			completed++
			if after.name != to.name {
				t.Fatalf("round %d: %s completed (%q) but the cache is %s", round, kind, out, after.name)
			}
		} else {
			kills++
		}
		t.Logf("round %d: %s, SIGKILL at %v: completed first %v, cache now %s (%d codes)", round, kind, killAt.Round(time.Millisecond), done, after.name, after.count)
		cur = after

		checkAt := time.Duration(rng.Int64N(int64(checkTook + checkTook/2)))
		if round%4 == 3 {
			checkAt = time.Minute // one in four runs to the end: some redemptions are acknowledged
		}
		out, done = e.runKilled(checkAt, "check", "-config", e.cfg, code)
		if done && strings.Contains(out, "accept\tok") {
			acked = append(acked, code)
		}
		// Every acknowledged redemption, this round's and all before, holds.
		for _, c := range acked {
			out, errOut, exit := e.kioskd("check", "-config", e.cfg, "-dry-run", c)
			if exit != exitReject || !strings.Contains(out, "already-used") {
				t.Fatalf("round %d: an acknowledged redemption was lost: exit %d %q %q", round, exit, out, errOut)
			}
		}
	}
	t.Logf("%d rounds: %d runs killed, %d completed before the kill; %d redemptions acknowledged", rounds, kills, completed, len(acked))
	if len(acked) < rounds/4 {
		t.Errorf("%d redemptions acknowledged in %d rounds, want at least %d (the checks not killed)", len(acked), rounds, rounds/4)
	}

	// Whatever the kills left, the next sync completes and serves.
	freshToken()
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync after the kills: exit %d %q %q", code, out, errOut)
	}
}

// runKilled runs kioskd and sends it SIGKILL after d unless it has exited by
// then. done reports that it exited on its own with status 0 or 1 (a verdict);
// out is its standard output.
func (e *env) runKilled(d time.Duration, args ...string) (out string, done bool) {
	e.t.Helper()
	cmd := exec.Command(kioskdBin, args...)
	cmd.Dir, cmd.Env = e.dir, toolEnv()
	var o bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &o
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	timer := time.AfterFunc(d, func() { cmd.Process.Signal(syscall.SIGKILL) })
	err := cmd.Wait()
	timer.Stop()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return o.String(), false
			}
			if ee.ExitCode() == exitReject {
				return o.String(), true
			}
		}
		e.t.Fatalf("kioskd %v: %v\n%s", args, err, o.String())
	}
	return o.String(), true
}

// cacheCount is the number of codes `kioskd status` reports.
func (e *env) cacheCount() int {
	e.t.Helper()
	out, errOut, code := e.kioskd("status", "-config", e.cfg, "-json")
	if code != exitOK {
		e.t.Fatalf("status: the store does not open: exit %d %q", code, errOut)
	}
	var s status.Snapshot
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		e.t.Fatalf("status -json: %v\n%s", err, out)
	}
	return s.Cache.Count
}

// cacheState opens the store (through kioskd, as an operator would) and
// tells which of old and new it holds, failing on anything else: a count of
// neither, or markers that do not match the count (a mix).
func (e *env) cacheState(t *testing.T, old, new generation) generation {
	t.Helper()
	n := e.cacheCount()
	known := func(code string) bool {
		out, errOut, exit := e.kioskd("check", "-config", e.cfg, "-dry-run", code)
		switch {
		case exit == exitOK:
			return true
		case exit == exitReject && strings.Contains(out, "unknown"):
			return false
		}
		t.Fatalf("check -dry-run of a marker: exit %d %q %q", exit, out, errOut)
		return false
	}
	for _, g := range []generation{new, old} {
		if n != g.count {
			continue
		}
		other := old
		if g.name == old.name {
			other = new
		}
		if !known(g.marker) || (other.name != g.name && known(other.marker)) {
			t.Fatalf("cache of %d codes (%s's size) but its markers say otherwise: a mix of %s and %s", n, g.name, old.name, new.name)
		}
		return g
	}
	t.Fatalf("cache of %d codes after a kill: neither %s (%d) nor %s (%d)", n, old.name, old.count, new.name, new.count)
	return generation{}
}
