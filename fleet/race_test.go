package fleet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// A peer's redemption racing a local check of the same code never lets both
// pass silently: either the local check sees it and rejects, or the local
// accept is recorded first and the peer's arrival reports a double entry.
func TestPeerApplyRacesLocalCheck(t *testing.T) {
	const n = 300
	k := newKiosk(t, "A", "mqtt://127.0.0.1:1", n, nil)
	if err := k.st.EnableFleetOutbox(); err != nil {
		t.Fatal(err)
	}
	rule := fleet.ConflictRule(fleet.Policy{Reuse: "single"})
	ctx := context.Background()
	verdicts := make([]verify.Verdict, n)
	doubles := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { verdicts[i] = k.v.Check(ctx, code(i), verify.CheckOpts{}) })
		wg.Go(func() {
			r := store.Redemption{Hash: store.HashCode(code(i)), At: time.Now(), Kiosk: "B", Nonce: store.NewNonce()}
			res, err := k.st.ApplyPeerRedemption(ctx, r, "A", time.Now(), rule)
			if err != nil {
				t.Error(err)
				return
			}
			doubles[i] = len(res.DoubleEntries)
		})
	}
	wg.Wait()
	var accepted int
	for i := range n {
		switch {
		case verdicts[i].Accept && doubles[i] == 1:
			accepted++
		case !verdicts[i].Accept && verdicts[i].Reason == verify.AlreadyUsed && doubles[i] == 0:
		default:
			t.Fatalf("code %d: accept=%v reason=%v, double entries %d", i, verdicts[i].Accept, verdicts[i].Reason, doubles[i])
		}
	}
	t.Logf("%d of %d local checks won the race (each reported as a double entry)", accepted, n)
}
