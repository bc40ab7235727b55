package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Two kiosks of a fleet both report one double entry. A receiver that
// deduplicates on nonces (as the upload contract invites) must keep both
// reports: distinct nonces, one shared incident id.
func TestDoubleEntryReportsOfTwoKiosks(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0).UTC()
	h := HashCode("code")
	la := Redemption{Hash: h, Kiosk: "A", At: now, Nonce: "nonce-a"}
	lb := Redemption{Hash: h, Kiosk: "B", At: now.Add(time.Second), Nonce: "nonce-b"}
	report := func(self string, local, peer Redemption) Event {
		t.Helper()
		st, _ := openTest(t, Options{})
		if err := st.EnableFleetOutbox(); err != nil {
			t.Fatal(err)
		}
		if err := st.Redeem(ctx, local, Event{Kind: KindVerdict, Accept: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ApplyPeerRedemption(ctx, peer, self, now.Add(time.Minute), singleUse); err != nil {
			t.Fatal(err)
		}
		evs, err := st.PendingEvents(100)
		if err != nil {
			t.Fatal(err)
		}
		var des []Event
		for _, e := range evs {
			if e.Kind == KindDoubleEntry {
				des = append(des, e)
			}
		}
		if len(des) != 1 {
			t.Fatalf("%s: %d double-entry events, want 1", self, len(des))
		}
		return des[0]
	}
	a := report("A", la, lb)
	b := report("B", lb, la)

	received := map[string]Event{} // a receiver deduplicating on nonces
	for _, e := range []Event{a, b} {
		received[e.Nonce] = e
	}
	if len(received) != 2 {
		t.Fatalf("a deduplicating receiver keeps %d of the 2 kiosks' reports (nonces %q, %q)", len(received), a.Nonce, b.Nonce)
	}
	if a.Incident == "" || a.Incident != b.Incident {
		t.Fatalf("incident ids %q and %q: want one shared, non-empty id", a.Incident, b.Incident)
	}
	if a.Kiosk != "A" || b.Kiosk != "B" {
		t.Fatalf("reporters %q, %q", a.Kiosk, b.Kiosk)
	}
}

func TestDropEvents(t *testing.T) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		sel  func(ids []uint64) EventDrop
		want []int // indexes of the events left, in order
	}{
		{"nothing selected", func([]uint64) EventDrop { return EventDrop{} }, []int{0, 1, 2, 3, 4}},
		{"all", func([]uint64) EventDrop { return EventDrop{All: true} }, nil},
		{"before a time", func([]uint64) EventDrop { return EventDrop{Before: base.Add(2 * time.Second)} }, []int{2, 3, 4}},
		{"one id", func(ids []uint64) EventDrop { return EventDrop{IDs: []uint64{ids[2]}} }, []int{0, 1, 3, 4}},
		{"adjacent ids", func(ids []uint64) EventDrop { return EventDrop{IDs: []uint64{ids[1], ids[2]}} }, []int{0, 3, 4}},
		{"unknown id", func([]uint64) EventDrop { return EventDrop{IDs: []uint64{999}} }, []int{0, 1, 2, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := openTest(t, Options{})
			for i := 0; i < 5; i++ {
				if err := st.AppendEvent(Event{Nonce: fmt.Sprintf("n%d", i), Time: base.Add(time.Duration(i) * time.Second), Kind: KindVerdict}); err != nil {
					t.Fatal(err)
				}
			}
			evs, err := st.PendingEvents(10)
			if err != nil {
				t.Fatal(err)
			}
			var ids []uint64
			for _, e := range evs {
				ids = append(ids, e.Seq)
			}
			n, err := st.DropEvents(tc.sel(ids))
			if err != nil {
				t.Fatal(err)
			}
			if n != 5-len(tc.want) {
				t.Fatalf("dropped %d, want %d", n, 5-len(tc.want))
			}
			left, _ := st.PendingEvents(10)
			var got, want []string
			for _, e := range left {
				got = append(got, e.Nonce)
			}
			for _, i := range tc.want {
				want = append(want, fmt.Sprintf("n%d", i))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("left %v, want %v", got, want)
			}
			if c, _ := st.PendingCount(); c != len(tc.want) {
				t.Fatalf("pending count %d, want %d", c, len(tc.want))
			}
			// A dropped nonce may be appended again (its index entry went too).
			if len(tc.want) == 0 || tc.want[0] != 0 {
				if err := st.AppendEvent(Event{Nonce: "n0", Time: base, Kind: KindVerdict}); err != nil {
					t.Fatal(err)
				}
				if c, _ := st.PendingCount(); c != len(tc.want)+1 {
					t.Fatalf("re-append of a dropped nonce: pending %d, want %d", c, len(tc.want)+1)
				}
			}
		})
	}
}
