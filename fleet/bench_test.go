package fleet_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/mosquitto"
	"github.com/kioskd/kioskd/store"
)

// benchFleet starts a broker and kiosks; durable stores fsync, as on a
// kiosk, the others measure the protocol alone.
func benchFleet(b *testing.B, durable bool, ids ...string) []*kiosk {
	return benchFleetBroker(b, durable, mosquitto.Options{}, ids...)
}

func benchFleetBroker(b *testing.B, durable bool, bo mosquitto.Options, ids ...string) []*kiosk {
	br := mosquitto.Start(b, bo)
	var ks []*kiosk
	for _, id := range ids {
		k := newKioskStore(b, id, br.URL(), 0, durable, nil)
		k.start()
		ks = append(ks, k)
	}
	for _, k := range ks {
		eventually(b, 10*time.Second, k.id+" connected", k.connected)
		eventually(b, 5*time.Second, k.id+" sees peers", func() bool { return len(k.f.Peers()) == len(ks)-1 })
	}
	return ks
}

// BenchmarkPropagation measures one redemption from A to B through the
// local broker: from the moment A's redemption is durable (the door opens)
// and the fleet is notified, to the moment B has it durably in its ledger.
func BenchmarkPropagation(b *testing.B) {
	b.Run("fsync", func(b *testing.B) { benchPropagation(b, true, mosquitto.Options{}) })
	b.Run("nosync", func(b *testing.B) { benchPropagation(b, false, mosquitto.Options{}) })
	// Mosquitto's default, set_tcp_nodelay false.
	b.Run("nosync-nagle", func(b *testing.B) { benchPropagation(b, false, mosquitto.Options{Nagle: true}) })
}

func benchPropagation(b *testing.B, durable bool, bo mosquitto.Options) {
	ks := benchFleetBroker(b, durable, bo, "A", "B")
	a, bk := ks[0], ks[1]
	got := make(chan string, 1)
	bk.onApply = func(r store.Redemption) { got <- r.Hash }
	lat := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h := store.HashCode(code(i))
		r := store.Redemption{Hash: h, At: time.Now(), Kiosk: "A"}
		if err := a.st.Redeem(ctx, r, store.Event{Kind: store.KindVerdict, Accept: true, Kiosk: "A", Hash: h}); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		a.f.Notify()
		if gh := <-got; gh != h {
			b.Fatalf("B applied %s, want %s", gh, h)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkPublishApply measures how many redemptions per second one kiosk
// can publish and a peer apply, both stores durable: A holds b.N redemptions
// in its fleet outbox (recorded while its fleet was stopped, as after a
// partition); the clock runs from starting A's fleet until B applied them all.
func BenchmarkPublishApply(b *testing.B) {
	b.Run("fsync", func(b *testing.B) { benchPublishApply(b, true) })
	b.Run("nosync", func(b *testing.B) { benchPublishApply(b, false) })
}

func benchPublishApply(b *testing.B, durable bool) {
	ks := benchFleet(b, durable, "A", "B")
	a, bk := ks[0], ks[1]
	a.stop()
	ctx := context.Background()
	var wg sync.WaitGroup
	var next atomic.Int64
	n := int64(b.N)
	for range 4 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				h := store.HashCode(code(int(i)))
				r := store.Redemption{Hash: h, At: time.Now(), Kiosk: "A"}
				if err := a.st.Redeem(ctx, r, store.Event{Kind: store.KindVerdict, Accept: true, Kiosk: "A", Hash: h}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var applied atomic.Int64
	all := make(chan struct{})
	bk.onApply = func(store.Redemption) {
		if applied.Add(1) == n {
			close(all)
		}
	}
	b.ReportAllocs()
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
	b.ReportMetric(float64(n)/el.Seconds(), "redemptions/s")
}
