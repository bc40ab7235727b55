package handoff

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// BenchmarkRedeemWithHandoff measures what the hand-off costs the door: the
// durable redemption (fsync'd, before the relay) of back-to-back accepts,
// each handed over right after, against the same store without outputs.
// Back to back (gap=0) is the worst case: the next redemption meets the
// previous hand-off's queue write and its removal once delivered, and waits
// for their fsyncs (bbolt has one writer). A scan lane waits at least the
// re-arm time between two codes (gap=20ms models a brisk queue of
// customers). Reported: median and p99 of Redeem.
func BenchmarkRedeemWithHandoff(b *testing.B) {
	for _, c := range []struct {
		outputs int
		gap     time.Duration
	}{{0, 0}, {1, 0}, {2, 0}, {0, 20 * time.Millisecond}, {1, 20 * time.Millisecond}, {2, 20 * time.Millisecond}} {
		outputs, gap := c.outputs, c.gap
		b.Run(fmt.Sprintf("outputs=%d/gap=%v", outputs, gap), func(b *testing.B) {
			st, err := store.Open(filepath.Join(b.TempDir(), "k.db"), store.Options{}) // fsync on: the real cost
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var h *Hub
			if outputs > 0 {
				var outs []Output
				for i := range outputs {
					outs = append(outs, Output{Name: fmt.Sprintf("o%d", i), Sender: instant{}})
				}
				if h, err = New(Options{Queue: st}, outs); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { _ = h.Run(ctx); close(done) }()
				defer func() { cancel(); <-done }()
			}
			var durs []time.Duration
			i := 0
			for b.Loop() {
				if gap > 0 {
					b.StopTimer()
					time.Sleep(gap) // the pace of a scan lane, not a synchronisation
					b.StartTimer()
				}
				i++
				hash := store.HashCode(fmt.Sprintf("%064x", i))
				t0 := time.Now()
				err := st.Redeem(context.Background(), store.Redemption{Hash: hash, At: t0, Kiosk: "b", Nonce: store.NewNonce()},
					store.Event{Kind: store.KindVerdict, Accept: true, Reason: "ok", Hash: hash})
				durs = append(durs, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				h.Hand(FromVerdict("b", InputCamera, verify.Verdict{Accept: true, Reason: verify.OK, Holder: "bb1x", At: t0}))
			}
			b.StopTimer()
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "redeem-p50-µs")
			b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "redeem-p99-µs")
		})
	}
}

type instant struct{}

func (instant) Send(context.Context, Message) error { return nil }

// BenchmarkVerdict is the lane's cost per verdict as the daemon pays it:
// Verdict on each of two outputs (one hub each, as an output registry opens
// them), each building, encoding and handing over its payload.
func BenchmarkVerdict(b *testing.B) {
	st, err := store.Open(filepath.Join(b.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var hubs []*Hub
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan struct{}
	for _, name := range []string{"till", "loyalty"} {
		h, err := New(Options{Queue: st, Buffer: 1 << 16, Kiosk: "door-a"}, []Output{{Name: name, Sender: instant{}}})
		if err != nil {
			b.Fatal(err)
		}
		hubs = append(hubs, h)
		c := make(chan struct{})
		done = append(done, c)
		go func() { _ = h.Run(ctx); close(c) }()
	}
	v := verify.Verdict{Accept: true, Reason: verify.OK, Name: "Loyalty card", Address: "0xabc", Holder: "bb1holder", At: time.Now(),
		Nonce: "0123456789abcdef0123456789abcdef"}
	b.ReportAllocs()
	for b.Loop() {
		for _, h := range hubs {
			h.Verdict(v)
		}
	}
	b.StopTimer()
	cancel()
	for _, c := range done {
		<-c
	}
}
