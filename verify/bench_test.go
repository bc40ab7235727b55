package verify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

func benchCode(i int) string { return fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15) }

// benchStore fills a store with n codes (written in hash order, as an import does).
func benchStore(b *testing.B, n int, noSync bool) *store.Store {
	b.Helper()
	st, err := store.Open(filepath.Join(b.TempDir(), "k.db"), store.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	hashes := make([]string, n)
	for i := range hashes {
		hashes[i] = store.HashCode(benchCode(i))
	}
	slices.Sort(hashes)
	sn, err := st.NewSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	for i, h := range hashes {
		if err := sn.Put(store.Record{Hash: h, Address: fmt.Sprintf("bb1%039d", i), Chain: "Cosmos", Name: "Event check-in"}); err != nil {
			b.Fatal(err)
		}
	}
	if err := sn.Commit(store.SyncInfo{At: time.Now(), Source: "import"}); err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkCheck measures a whole verdict (hash, lookup, redemption state,
// policy) on a 1M-code cache. DryRun isolates the decision; the recorded
// variant adds the fsync'd redemption or event a real scan costs.
func BenchmarkCheck(b *testing.B) {
	const n = 1_000_000
	pol := DefaultPolicy()
	pol.Reuse = ReuseCooldown
	pol.Cooldown = time.Hour
	pol.MaxCacheAge = 24 * time.Hour
	pol.ValidFrom = "2020-01-01T00:00:00Z"
	pol.ValidUntil = "2099-01-01T00:00:00Z"
	st := benchStore(b, n, false)
	v := New(st, Options{Policy: pol, Kiosk: "bench"})
	r := rand.New(rand.NewPCG(7, 7))
	codes := make([]string, 8192)
	for i := range codes {
		codes[i] = benchCode(r.IntN(n))
	}
	for _, dry := range []bool{true, false} {
		b.Run(fmt.Sprintf("codes=1M/dry=%v", dry), func(b *testing.B) {
			ctx := context.Background()
			var durs []time.Duration
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t := time.Now()
				vd := v.Check(ctx, codes[i%len(codes)], CheckOpts{DryRun: dry})
				durs = append(durs, time.Since(t))
				if vd.Reason == Error || vd.Reason == Unknown {
					b.Fatalf("verdict %v", vd.Reason)
				}
				i++
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
