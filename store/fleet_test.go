package store

import (
	"context"
	"slices"
	"testing"
	"time"
)

func singleUse(local, peer Redemption) bool {
	return local.Direction != DirExit && peer.Direction != DirExit
}

func TestFleetOutboxOnlyWhenEnabled(t *testing.T) {
	st, _ := openTest(t, Options{})
	ctx := context.Background()
	h := HashCode("a")
	if err := st.Redeem(ctx, Redemption{Hash: h, At: time.Unix(100, 0), Kiosk: "A"}, Event{Kind: KindVerdict}); err != nil {
		t.Fatal(err)
	}
	if items, _ := st.PendingFleet(10); len(items) != 0 {
		t.Fatalf("fleet outbox without EnableFleetOutbox: %v", items)
	}
	if err := st.EnableFleetOutbox(); err != nil {
		t.Fatal(err)
	}
	r := Redemption{Hash: HashCode("b"), At: time.Unix(200, 0), Kiosk: "A", Nonce: "n-b"}
	for range 2 { // a repeated nonce is queued once
		if err := st.Redeem(ctx, r, Event{Kind: KindVerdict}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := st.PendingFleet(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Redemption.Nonce != "n-b" || items[0].Redemption.Hash != r.Hash || !items[0].Redemption.At.Equal(r.At) {
		t.Fatalf("fleet outbox = %+v", items)
	}
	// The two outboxes are independent: acking the uploader's events leaves
	// the fleet's item, and the other way round.
	evs, _ := st.PendingEvents(10)
	var nonces []string
	for _, e := range evs {
		nonces = append(nonces, e.Nonce)
	}
	if err := st.AckEvents(nonces); err != nil {
		t.Fatal(err)
	}
	if fc, _ := st.FleetCounts(); fc.Pending != 1 {
		t.Fatalf("fleet pending after event ack = %d", fc.Pending)
	}
	if err := st.AckFleet([]uint64{items[0].Seq, 999}); err != nil {
		t.Fatal(err)
	}
	if fc, _ := st.FleetCounts(); fc.Pending != 0 {
		t.Fatalf("fleet pending after ack = %d", fc.Pending)
	}
	for range 2 { // nothing pending: the buckets go; idempotent
		if n, err := st.DisableFleetOutbox(); err != nil || n != 0 {
			t.Fatalf("DisableFleetOutbox = %d, %v", n, err)
		}
	}
}

// TestFleetOutboxKeptWhenDisabled: disabling the fleet (fleet.broker gone
// from the config) stops queueing but keeps what the broker never
// acknowledged, for a later EnableFleetOutbox to publish; only
// DropFleetOutbox discards it, counted.
func TestFleetOutboxKeptWhenDisabled(t *testing.T) {
	st, _ := openTest(t, Options{})
	ctx := context.Background()
	redeem := func(name string) {
		t.Helper()
		r := Redemption{Hash: HashCode(name), At: time.Unix(100, 0), Kiosk: "A", Nonce: "n-" + name}
		if err := st.Redeem(ctx, r, Event{Kind: KindVerdict, Accept: true}); err != nil {
			t.Fatal(err)
		}
	}
	queued := func() []string {
		t.Helper()
		items, err := st.PendingFleet(10)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, it := range items {
			n = append(n, it.Redemption.Nonce)
		}
		return n
	}
	if err := st.EnableFleetOutbox(); err != nil {
		t.Fatal(err)
	}
	redeem("a")
	for range 2 { // idempotent
		if n, err := st.DisableFleetOutbox(); err != nil || n != 1 {
			t.Fatalf("DisableFleetOutbox with one pending = %d, %v; want 1", n, err)
		}
	}
	redeem("b") // made while out of the fleet: not queued
	if got := queued(); !slices.Equal(got, []string{"n-a"}) {
		t.Fatalf("after disabling, fleet outbox %v, want [n-a] kept and nothing new", got)
	}
	if fc, _ := st.FleetCounts(); fc.Pending != 1 || fc.Dropped != 0 {
		t.Fatalf("counts after disabling %+v", fc)
	}
	// Back in the fleet: the kept one is still there, new ones queue.
	if err := st.EnableFleetOutbox(); err != nil {
		t.Fatal(err)
	}
	redeem("c")
	if got := queued(); !slices.Equal(got, []string{"n-a", "n-c"}) {
		t.Fatalf("after re-enabling, fleet outbox %v, want [n-a n-c]", got)
	}
	// Dropped on purpose while enabled: counted, queueing goes on.
	if n, err := st.DropFleetOutbox(); err != nil || n != 2 {
		t.Fatalf("DropFleetOutbox = %d, %v; want 2", n, err)
	}
	if fc, _ := st.FleetCounts(); fc.Pending != 0 || fc.Dropped != 2 || len(queued()) != 0 {
		t.Fatalf("after the drop: %+v, queued %v", fc, queued())
	}
	redeem("d")
	// Dropped on purpose while disabled: the fleet's buckets go, as for a
	// kiosk that never had a fleet.
	if n, err := st.DisableFleetOutbox(); err != nil || n != 1 {
		t.Fatalf("DisableFleetOutbox = %d, %v; want 1", n, err)
	}
	if n, err := st.DropFleetOutbox(); err != nil || n != 1 {
		t.Fatalf("DropFleetOutbox = %d, %v; want 1", n, err)
	}
	redeem("e")
	if fc, _ := st.FleetCounts(); fc != (FleetCounts{}) || len(queued()) != 0 {
		t.Fatalf("after dropping a disabled outbox: %+v, queued %v", fc, queued())
	}
	if n, err := st.DropFleetOutbox(); err != nil || n != 0 {
		t.Fatalf("DropFleetOutbox without a fleet = %d, %v", n, err)
	}
}

func TestFleetOutboxBounded(t *testing.T) {
	st, _ := openTest(t, Options{MaxPendingEvents: 3})
	if err := st.EnableFleetOutbox(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r := Redemption{Hash: HashCode(string(rune('a' + i))), At: time.Unix(int64(i), 0), Kiosk: "A"}
		if err := st.Redeem(context.Background(), r, Event{}); err != nil {
			t.Fatal(err)
		}
	}
	fc, _ := st.FleetCounts()
	items, _ := st.PendingFleet(10)
	if fc.Pending != 3 || fc.Dropped != 2 || len(items) != 3 || items[0].Redemption.Hash != HashCode("c") {
		t.Fatalf("counts %+v items %d first %v", fc, len(items), items)
	}
}

func TestApplyPeerRedemption(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0).UTC()
	tests := []struct {
		name      string
		local     *Redemption // redeemed here first
		peers     []Redemption
		conflict  ConflictFunc
		wantCount uint64
		wantDE    int // double entries reported over all applies
	}{
		{
			name:      "peer only",
			peers:     []Redemption{{Kiosk: "B", At: now, Nonce: "p1"}},
			conflict:  singleUse,
			wantCount: 1,
		},
		{
			name:      "repeated message applied once",
			peers:     []Redemption{{Kiosk: "B", At: now, Nonce: "p1"}, {Kiosk: "B", At: now, Nonce: "p1"}},
			conflict:  singleUse,
			wantCount: 1,
		},
		{
			name:      "partition: both accepted",
			local:     &Redemption{Kiosk: "A", At: now, Nonce: "l1"},
			peers:     []Redemption{{Kiosk: "B", At: now.Add(time.Second), Nonce: "p1"}, {Kiosk: "B", At: now.Add(time.Second), Nonce: "p1"}},
			conflict:  singleUse,
			wantCount: 2,
			wantDE:    1,
		},
		{
			name:      "two peers each conflict once",
			local:     &Redemption{Kiosk: "A", At: now, Nonce: "l1"},
			peers:     []Redemption{{Kiosk: "B", At: now, Nonce: "p1"}, {Kiosk: "C", At: now, Nonce: "p2"}, {Kiosk: "B", At: now, Nonce: "p1"}},
			conflict:  singleUse,
			wantCount: 3,
			wantDE:    2,
		},
		{
			name:      "policy says no conflict",
			local:     &Redemption{Kiosk: "A", At: now, Nonce: "l1"},
			peers:     []Redemption{{Kiosk: "B", At: now, Nonce: "p1"}},
			conflict:  func(Redemption, Redemption) bool { return false },
			wantCount: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := openTest(t, Options{})
			if err := st.EnableFleetOutbox(); err != nil {
				t.Fatal(err)
			}
			h := HashCode("code")
			if tc.local != nil {
				r := *tc.local
				r.Hash = h
				if err := st.Redeem(ctx, r, Event{Kind: KindVerdict, Accept: true}); err != nil {
					t.Fatal(err)
				}
			}
			var des []DoubleEntry
			for _, p := range tc.peers {
				p.Hash = h
				res, err := st.ApplyPeerRedemption(ctx, p, "A", now, tc.conflict)
				if err != nil {
					t.Fatal(err)
				}
				des = append(des, res.DoubleEntries...)
			}
			st2, ok, err := st.RedemptionState(h)
			if err != nil || !ok || st2.Count != tc.wantCount {
				t.Fatalf("state = %+v ok=%v err=%v, want count %d", st2, ok, err, tc.wantCount)
			}
			if len(des) != tc.wantDE {
				t.Fatalf("double entries reported %d, want %d: %+v", len(des), tc.wantDE, des)
			}
			stored, _ := st.DoubleEntries(10)
			if len(stored) != tc.wantDE {
				t.Fatalf("double entries stored %d, want %d", len(stored), tc.wantDE)
			}
			var evDE int
			evs, _ := st.PendingEvents(100)
			for _, e := range evs {
				if e.Kind == KindDoubleEntry {
					evDE++
					if e.Hash != h || e.Kiosk != "A" || e.Detail == "" {
						t.Fatalf("double-entry event %+v", e)
					}
				}
			}
			if evDE != tc.wantDE {
				t.Fatalf("double-entry events %d, want %d", evDE, tc.wantDE)
			}
			// Peers' redemptions never go back out to the fleet.
			items, _ := st.PendingFleet(100)
			wantItems := 0
			if tc.local != nil {
				wantItems = 1
			}
			if len(items) != wantItems {
				t.Fatalf("fleet outbox holds %d, want %d", len(items), wantItems)
			}
		})
	}
}

func TestApplyPeerRedemptionBadInput(t *testing.T) {
	st, _ := openTest(t, Options{})
	ctx := context.Background()
	if _, err := st.ApplyPeerRedemption(ctx, Redemption{Hash: "zz", Nonce: "n"}, "A", time.Now(), nil); err == nil {
		t.Fatal("bad hash accepted")
	}
	if _, err := st.ApplyPeerRedemption(ctx, Redemption{Hash: HashCode("x")}, "A", time.Now(), nil); err == nil {
		t.Fatal("missing nonce accepted")
	}
}

func TestLockCodesMatchesLockCode(t *testing.T) {
	st, _ := openTest(t, Options{})
	for i := range 300 {
		h := HashCode(string(rune(i)))
		unlock := st.LockCode(h)
		if st.codeLocks[codeStripe(h, len(st.codeLocks))].TryLock() {
			t.Fatalf("codeStripe(%s) is not LockCode's mutex", h)
		}
		unlock()
	}
	// Several hashes on one stripe are locked once (no self-deadlock).
	h := HashCode("x")
	st.lockCodes([]string{h, h, HashCode("y")})()
}

func TestApplyPeerRedemptionsBatch(t *testing.T) {
	st, _ := openTest(t, Options{})
	ctx := context.Background()
	now := time.Unix(1000, 0)
	if err := st.Redeem(ctx, Redemption{Hash: HashCode("c0"), At: now, Kiosk: "A", Nonce: "l0"}, Event{}); err != nil {
		t.Fatal(err)
	}
	if err := st.EnableFleetOutbox(); err != nil {
		t.Fatal(err)
	}
	if err := st.Redeem(ctx, Redemption{Hash: HashCode("c1"), At: now, Kiosk: "A", Nonce: "l1"}, Event{}); err != nil {
		t.Fatal(err)
	}
	rs := []Redemption{
		{Hash: HashCode("c1"), At: now, Kiosk: "B", Nonce: "p1"},
		{Hash: HashCode("c2"), At: now, Kiosk: "B", Nonce: "p2"},
		{Hash: HashCode("c1"), At: now, Kiosk: "B", Nonce: "p1"}, // repeat within the batch
		{Hash: HashCode("c0"), At: now, Kiosk: "B", Nonce: "p0"}, // c0 was used here before the fleet existed
	}
	res, err := st.ApplyPeerRedemptions(ctx, rs, "A", now, singleUse)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Applied || len(res[0].DoubleEntries) != 1 || !res[1].Applied || res[2].Applied || len(res[3].DoubleEntries) != 1 {
		t.Fatalf("results %+v", res)
	}
	bad := append(rs[:1:1], Redemption{Hash: "nothex", Nonce: "p9"})
	if _, err := st.ApplyPeerRedemptions(ctx, bad, "A", now, singleUse); err == nil {
		t.Fatal("invalid batch applied")
	}
}
