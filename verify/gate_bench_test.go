package verify

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

// BenchmarkCheckGated compares a dry-run verdict on a 1M-code cache with and
// without an access requirement (issue 19's goal: gating at most doubles
// it). One holder in ten of the 100,000 owners is a code's holder; the rest
// of the codes fail the requirement, so both branches are measured.
//
//	go test -run '^$' -bench 'CheckGated' -benchtime=300000x ./verify/
func BenchmarkCheckGated(b *testing.B) {
	const n = 1_000_000
	st, err := store.Open(filepath.Join(b.TempDir(), "k.db"), store.Options{NoSync: true})
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
	req := store.Requirement{Name: "Members", CollectionID: "17", TokenIDs: []store.Range{{Start: 1, End: 1}}, MinAmount: 1}
	for i := 0; i < n; i += 10 {
		bal := []store.Balance{{Amount: 1, TokenIDs: []store.Range{{Start: 1, End: 1}},
			OwnershipTimes: []store.Range{{Start: 1, End: math.MaxUint64}}}}
		if err := sn.PutOwner("17", fmt.Sprintf("bb1%039d", i), bal); err != nil {
			b.Fatal(err)
		}
	}
	sn.OwnersSynced([]string{req.Key()})
	if err := sn.Commit(store.SyncInfo{At: time.Now(), Source: "sync"}); err != nil {
		b.Fatal(err)
	}
	pol := DefaultPolicy()
	pol.Reuse = ReuseCooldown
	pol.Cooldown = time.Hour
	pol.MaxCacheAge = 24 * time.Hour
	pol.ValidFrom = "2020-01-01T00:00:00Z"
	pol.ValidUntil = "2099-01-01T00:00:00Z"
	r := rand.New(rand.NewPCG(7, 7))
	codes := make([]string, 8192)
	for i := range codes {
		codes[i] = benchCode(r.IntN(n))
	}
	access := Access{Require: []store.Requirement{req}, Match: "all", StaleOwners: "reject", MaxOwnersAge: 24 * time.Hour}
	for _, gated := range []bool{false, true} {
		o := Options{Policy: pol, Kiosk: "bench"}
		if gated {
			o.Access = access
		}
		v := New(st, o)
		b.Run(fmt.Sprintf("codes=1M/gated=%v", gated), func(b *testing.B) {
			ctx := context.Background()
			var durs []time.Duration
			b.ReportAllocs()
			i, met := 0, 0
			for b.Loop() {
				t := time.Now()
				vd := v.Check(ctx, codes[i%len(codes)], CheckOpts{DryRun: true})
				durs = append(durs, time.Since(t))
				if vd.Reason == Error || vd.Reason == Unknown {
					b.Fatalf("verdict %v", vd.Reason)
				}
				if vd.Accept {
					met++
				}
				i++
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(met)/float64(i), "accepted")
		})
	}
}
