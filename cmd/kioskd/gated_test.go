package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

const gatedConfig = `
policy:
  reuse: unlimited
access:
  require:
    - {name: Members, collection_id: "17", token_ids: ["1-3"]}
`

// TestGatedEntry drives badge-gated entry through the binary, its config
// and the stand-in: the sync brings the owners with the codes, check names
// the failed requirement, status lists the holders, a badge received after
// the sync is admitted by the online re-check (and kept offline until the
// next sync), and a badge transferred away is honoured until the next sync.
func TestGatedEntry(t *testing.T) {
	e := newEnv(t, gatedConfig)
	valid, _, dark := demoframes.Codes()
	late := strings.Repeat("1a", 32)
	e.srv.AddCode(late, "Late member")
	e.srv.SetBalances("17", e.srv.AddressOf(valid), bbtest.Hold(2, 1))
	e.srv.AddOwners("17", 1, 60) // other members: more than a page

	check := func(what, code, want string, wantCode int, args ...string) {
		t.Helper()
		out, errOut, c := e.kioskd(append(append([]string{"check", "-config", e.cfg}, args...), code)...)
		if c != wantCode || !strings.Contains(out, want) {
			t.Fatalf("%s: exit %d, %q %q; want %d and %q", what, c, out, errOut, wantCode, want)
		}
		if strings.Contains(out+errOut, code) {
			t.Fatalf("%s: the code appears in the output", what)
		}
	}
	out, errOut, code := e.kioskd("sync", "-config", e.cfg)
	if code != exitOK || !strings.Contains(out, "synced 61 badge owners of 3 tokens") {
		t.Fatalf("sync: exit %d, %q %q", code, out, errOut)
	}
	check("holder", valid, "accept\tok", exitOK, "-dry-run")
	check("non-holder", dark, "reject\trequirement-not-met\tDark guest\trequirement: Members", exitReject, "-dry-run")

	out, errOut, code = e.kioskd("status", "-config", e.cfg, "-json")
	var s status.Snapshot
	if err := json.Unmarshal([]byte(out), &s); code != exitOK || err != nil {
		t.Fatalf("status: exit %d, %v, %q", code, err, errOut)
	}
	if s.Access == nil || len(s.Access.Requirements) != 1 || s.Access.Requirements[0].Holders != 61 ||
		!s.Access.Requirements[0].Synced || s.Access.OwnersSynced.IsZero() || s.Access.OwnersStale {
		t.Fatalf("status access = %+v", s.Access)
	}
	if out, _, _ = e.kioskd("status", "-config", e.cfg); !strings.Contains(out, "Members: collection 17 tokens 1-3, at least 1; 61 holders") {
		t.Fatalf("status text:\n%s", out)
	}

	// The late member receives the badge after the sync: the cache refuses,
	// the online re-check admits, and the pass is kept until the next sync.
	e.srv.SetBalances("17", e.srv.AddressOf(late), bbtest.Hold(3, 1))
	check("late, offline decision", late, "reject\trequirement-not-met", exitReject, "-dry-run")
	check("late, online re-check", late, "accept\tok", exitOK)
	if n := e.srv.Counts().BalanceChecks; n != 1 {
		t.Fatalf("%d balance checks; want 1", n)
	}
	check("late, kept pass", late, "accept\tok", exitOK)
	if n := e.srv.Counts().BalanceChecks; n != 1 {
		t.Fatalf("the kept pass asked again: %d balance checks", n)
	}

	// A badge transferred away after the sync is honoured until the next.
	e.srv.Transfer("17", e.srv.AddressOf(valid), "bb1someoneelse")
	check("transferred, before the next sync", valid, "accept\tok", exitOK, "-dry-run")
	if out, errOut, code = e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("second sync: exit %d, %q %q", code, out, errOut)
	}
	check("transferred, after the next sync", valid, "reject\trequirement-not-met", exitReject, "-dry-run")
	check("late, still a holder after the sync", late, "accept\tok", exitOK, "-dry-run")
}

// TestGatedOwnersFailureKeepsCache: an owners page that fails keeps the old
// snapshot whole, codes included, and `kioskd sync` says so with exit 2.
func TestGatedOwnersFailureKeepsCache(t *testing.T) {
	e := newEnv(t, gatedConfig)
	valid, _, _ := demoframes.Codes()
	e.srv.SetBalances("17", e.srv.AddressOf(valid), bbtest.Hold(1, 1))
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK {
		t.Fatalf("sync: exit %d, %q %q", code, out, errOut)
	}
	fresh := strings.Repeat("2b", 32)
	e.srv.AddCode(fresh, "New guest")
	e.srv.SetBalances("17", e.srv.AddressOf(fresh), bbtest.Hold(1, 1))
	e.srv.Inject(bbtest.Fault{Route: bbtest.RouteOwners, Kind: bbtest.Status, Status: 402})
	out, errOut, code := e.kioskd("sync", "-config", e.cfg)
	if code != exitError || !strings.Contains(errOut, "old cache") || !strings.Contains(errOut, "owners") {
		t.Fatalf("failed sync: exit %d, %q %q", code, out, errOut)
	}
	if out, _, code := e.kioskd("check", "-config", e.cfg, "-dry-run", fresh); code != exitReject || !strings.Contains(out, "unknown") {
		t.Fatalf("a code of the failed sync is served: %d %q", code, out)
	}
	if out, _, code := e.kioskd("check", "-config", e.cfg, "-dry-run", valid); code != exitOK {
		t.Fatalf("the old snapshot is not whole: %d %q", code, out)
	}
}
