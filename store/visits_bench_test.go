package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRecordVisit is Redeem's cost plus the visit, by how many visits
// the holder already has in the period (a regular: tens; the bound: 1000),
// fsync'd as on a kiosk (durable) or not (the CPU part alone), against
// Redeem of the same store.
func BenchmarkRecordVisit(b *testing.B) {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	rule := VisitRule{Period: "none", Loc: time.UTC}
	for _, durable := range []bool{false, true} {
		for _, have := range []int{0, 30, VisitsKept - 1} {
			b.Run(fmt.Sprintf("durable=%v/visits=%d", durable, have), func(b *testing.B) {
				st, err := Open(filepath.Join(b.TempDir(), "k.db"), Options{NoSync: !durable})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				vs := make([]VisitEvent, have)
				for i := range vs {
					vs[i] = VisitEvent{ID: fmt.Sprintf("%032x", i), Holder: "bb1regular", Kiosk: "B", At: at.Add(time.Duration(i) * time.Hour)}
				}
				if _, err := st.ApplyPeerVisits(context.Background(), vs, rule); err != nil {
					b.Fatal(err)
				}
				h := HashCode("code")
				for b.Loop() {
					// Each scan is within the (zero) cooldown's reach of
					// nothing: counted, then removed again so the list
					// keeps its size.
					n := NewNonce()
					v, err := st.RecordVisit(context.Background(), Redemption{Hash: h, At: at.Add(-time.Hour), Kiosk: "A", Nonce: n},
						Event{Kind: KindVerdict, Accept: true, Reason: "ok", Hash: h}, "bb1regular", rule)
					if err != nil || !v.Counted {
						b.Fatal(v, err)
					}
					b.StopTimer()
					st.dropVisit("bb1regular", rule, at, n)
					b.StartTimer()
				}
			})
		}
		b.Run(fmt.Sprintf("durable=%v/redeem", durable), func(b *testing.B) {
			st, err := Open(filepath.Join(b.TempDir(), "k.db"), Options{NoSync: !durable})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			h := HashCode("code")
			for b.Loop() {
				if err := st.Redeem(context.Background(), Redemption{Hash: h, At: at, Kiosk: "A"},
					Event{Kind: KindVerdict, Accept: true, Reason: "ok", Hash: h}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
