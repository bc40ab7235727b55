package sync

import (
	"strings"
	"testing"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

func gate(coll string, ranges ...store.Range) []store.Requirement {
	return []store.Requirement{{Name: "Members", CollectionID: coll, TokenIDs: ranges, MinAmount: 1}}
}

func TestSyncOwnersIntoSnapshot(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	codes := e.srv.AddCodes(30)
	holders := e.srv.AddOwners("17", 2, 60)
	// An ETH user: the record's bitbadgesAddress is the join, not its address.
	eth := strings.Repeat("e7", 32)
	e.srv.Add(bbtest.Record{Code: eth, Address: "0x00000000000000000000000000000000000000e7", Chain: "ETH", BitBadgesAddress: holders[0]})
	e.srv.AddOwners("17", 3, 10) // outside the requirement: not fetched
	e.syncer.Require = gate("17", store.Range{Start: 1, End: 2})
	r := e.mustSync(t)
	if r.Owners.Tokens != 2 || r.Owners.Owners != 60 {
		t.Fatalf("owners result = %+v; want 2 tokens, 60 owners", r.Owners)
	}
	info, err := e.st.Owners()
	if err != nil || !info.Has(e.syncer.Require[0].Key()) || info.Owners != 60 {
		t.Fatalf("owners info = %+v, %v", info, err)
	}
	m, _ := e.st.Meta()
	if !info.SyncedAt.Equal(m.LastSync) {
		t.Errorf("owners synced at %v, codes at %v: not one snapshot", info.SyncedAt, m.LastSync)
	}
	for _, a := range append([]string{"Mint", "Total"}, holders[:3]...) {
		_, h, err := e.st.Holdings(a, []string{"17"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := h["17"]; ok != (a != "Mint" && a != "Total") {
			t.Errorf("holding of %s: %+v", a, h)
		}
	}
	if !e.cached(t, codes[0]) {
		t.Fatal("codes missing")
	}
	rec, ok, err := e.st.Lookup(store.HashCode(eth))
	if err != nil || !ok || rec.OwnerAddress() != holders[0] || rec.Address == holders[0] {
		t.Fatalf("ETH record %+v, %v, %v: not joined on its bitbadgesAddress", rec, ok, err)
	}
}

func TestSyncOwnersFailureKeepsOldSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault bbtest.Fault
	}{
		{"500 on a later page", bbtest.Fault{Kind: bbtest.Status, Status: 500}},
		{"402 out of credits", bbtest.Fault{Kind: bbtest.Status, Status: 402}},
		{"429", bbtest.Fault{Kind: bbtest.Status, Status: 429, RetryAfter: "60"}},
		{"connection dropped", bbtest.Fault{Kind: bbtest.Drop}},
		{"truncated page", bbtest.Fault{Kind: bbtest.Truncate}},
		{"not JSON", bbtest.Fault{Kind: bbtest.Malformed}},
		{"not a page", bbtest.Fault{Kind: bbtest.WrongShape}},
		{"enormous page", bbtest.Fault{Kind: bbtest.Huge, Size: 8 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, bbtest.Options{})
			e.srv.AddCodes(10)
			old := e.srv.AddOwners("17", 1, 40)
			e.syncer.Require = gate("17", store.Range{Start: 1, End: 1})
			e.mustSync(t)
			before, _ := e.st.Meta()
			beforeOwners, _ := e.st.Owners()

			newCodes := e.srv.AddCodes(5)
			newOwner := e.srv.AddOwners("17", 1, 1)[0]
			tc.fault.Route, tc.fault.After = bbtest.RouteOwners, 1 // the first page passes
			e.srv.Inject(tc.fault)
			if _, err := e.sync(t); err == nil {
				t.Fatal("sync succeeded through an owners fault")
			}
			after, _ := e.st.Meta()
			afterOwners, _ := e.st.Owners()
			if after.Count != before.Count || !after.LastSync.Equal(before.LastSync) || e.cached(t, newCodes[0]) {
				t.Fatalf("codes changed: %+v → %+v", before, after)
			}
			if afterOwners.Owners != beforeOwners.Owners || !afterOwners.SyncedAt.Equal(beforeOwners.SyncedAt) {
				t.Fatalf("owners changed: %+v → %+v", beforeOwners, afterOwners)
			}
			if _, h, _ := e.st.Holdings(newOwner, []string{"17"}); len(h) != 0 {
				t.Fatal("a new owner from the failed sync is served")
			}
			if _, h, _ := e.st.Holdings(old[0], []string{"17"}); len(h) != 1 {
				t.Fatal("an old owner was lost")
			}
			e.srv.ClearFaults()
			e.mustSync(t)
			if _, h, _ := e.st.Holdings(newOwner, []string{"17"}); len(h) != 1 || !e.cached(t, newCodes[0]) {
				t.Fatal("the next good sync did not bring the new owner and codes")
			}
		})
	}
}

func TestSyncWithoutRequirementsHasNoOwners(t *testing.T) {
	e := newEnv(t, bbtest.Options{})
	e.srv.AddCodes(3)
	e.srv.AddOwners("17", 1, 3)
	r := e.mustSync(t)
	if info, _ := e.st.Owners(); r.Owners.Tokens != 0 || !info.SyncedAt.IsZero() {
		t.Fatalf("owners fetched without a requirement: %+v %+v", r.Owners, info)
	}
	if c := e.srv.Counts(); c.OwnerPages != 0 {
		t.Fatalf("%d owner pages asked", c.OwnerPages)
	}
}
