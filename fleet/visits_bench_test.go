package fleet_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/store"
)

func benchLoyalty(b *testing.B, durable bool) (a, bk *loyaltyKiosk) {
	br := mosquitto.Start(b, mosquitto.Options{})
	at := time.Now()
	a, bk = newLoyaltyKioskStore(b, "A", br.URL(), at, durable), newLoyaltyKioskStore(b, "B", br.URL(), at, durable)
	for _, k := range []*loyaltyKiosk{a, bk} {
		k.start()
	}
	for _, k := range []*loyaltyKiosk{a, bk} {
		eventually(b, 10*time.Second, k.id+" connected", k.connected)
		eventually(b, 5*time.Second, k.id+" sees its peer", func() bool { return len(k.f.Peers()) == 1 })
	}
	return a, bk
}

// recordVisit records a counted visit of holder at kiosk k, as verify does.
func recordVisit(b *testing.B, k *loyaltyKiosk, i int) {
	h := store.HashCode(code(i))
	n := store.NewNonce()
	v, err := k.st.RecordVisit(context.Background(), store.Redemption{Hash: h, At: time.Now(), Kiosk: k.id, Nonce: n},
		store.Event{Kind: store.KindVerdict, Accept: true, Kiosk: k.id, Hash: h}, fmt.Sprintf("bb1holder%d", i), k.v.VisitRule())
	if err != nil || !v.Counted {
		b.Fatal(v, err)
	}
}

// BenchmarkVisitPropagation measures one visit from till A to till B: from
// A's visit being durable (the verdict given) and the fleet notified, to B
// holding it durably in the holder's set.
func BenchmarkVisitPropagation(b *testing.B) {
	for _, durable := range []bool{true, false} {
		b.Run(fmt.Sprintf("durable=%v", durable), func(b *testing.B) {
			a, bk := benchLoyalty(b, durable)
			got := make(chan store.VisitEvent, 1)
			bk.opt.OnPeerVisit = nil
			bk.stop()
			bk.opt.OnPeerVisit = func(v store.VisitEvent, added bool) {
				if added {
					got <- v
				}
			}
			bk.start()
			eventually(b, 10*time.Second, "B reconnected", bk.connected)
			lat := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				recordVisit(b, a, i)
				t0 := time.Now()
				a.f.Notify()
				if v := <-got; v.Holder != fmt.Sprintf("bb1holder%d", i) {
					b.Fatalf("B applied %+v", v)
				}
				lat = append(lat, time.Since(t0))
				i++
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkVisitBacklog measures a partition's backlog: A counted b.N
// visits while its fleet was stopped; the clock runs from starting A's
// fleet until B applied them all (each visit is one fsync'd transaction at B).
func BenchmarkVisitBacklog(b *testing.B) {
	a, bk := benchLoyalty(b, true)
	a.stop()
	n := int64(b.N)
	for i := range b.N {
		recordVisit(b, a, i)
	}
	var applied atomic.Int64
	all := make(chan struct{})
	bk.stop()
	bk.opt.OnPeerVisit = func(_ store.VisitEvent, added bool) {
		if added && applied.Add(1) == n {
			close(all)
		}
	}
	bk.start()
	eventually(b, 10*time.Second, "B reconnected", bk.connected)
	b.ResetTimer()
	start := time.Now()
	a.start()
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		b.Fatalf("B applied %d of %d", applied.Load(), n)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/el.Seconds(), "visits/s")
}
