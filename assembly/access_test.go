package assembly

import (
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

func TestAccessMetricsAndStatus(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.Default()
	cfg.Access = config.Access{Match: "all", StaleOwners: "reject", MaxOwnersAge: time.Hour, Require: []config.Requirement{
		{Name: "Members", CollectionID: "17", TokenIDs: []config.TokenRange{{Start: 1, End: 1}}, MinAmount: 1}}}
	ver := verify.New(st, verify.Options{Policy: PolicyOptions(cfg.Policy), Access: AccessOptions(cfg.Access)})

	// Never synced: age -1, the kiosk is not healthy.
	m := metrics.New()
	registerAccessMetrics(m, &cfg, ver, slog.New(slog.DiscardHandler))
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(`
# HELP kioskd_badge_owners_age_seconds Age of the badge owners data the access requirements are decided from (-1: never synced).
# TYPE kioskd_badge_owners_age_seconds gauge
kioskd_badge_owners_age_seconds -1
`), "kioskd_badge_owners_age_seconds"); err != nil {
		t.Fatal(err)
	}
	s := status.Snapshot{Now: time.Now(), Healthy: true}
	fillAccess(&s, &cfg, ver)
	if s.Healthy || s.Access == nil || !s.Access.OwnersStale || s.Access.Requirements[0].Synced {
		t.Fatalf("never synced: %+v %+v", s.Access, s.Problems)
	}

	sn, _ := st.NewSnapshot()
	for _, a := range []string{"bb1a", "bb1b", "bb1c"} {
		sn.PutOwner("17", a, []store.Balance{{Amount: 1, TokenIDs: []store.Range{{Start: 1, End: 1}},
			OwnershipTimes: []store.Range{{Start: 1, End: math.MaxUint64}}}})
	}
	sn.PutOwner("17", "bb1other", []store.Balance{{Amount: 1, TokenIDs: []store.Range{{Start: 2, End: 2}},
		OwnershipTimes: []store.Range{{Start: 1, End: math.MaxUint64}}}})
	sn.OwnersSynced([]string{cfg.Access.Require[0].Key()})
	if err := sn.Commit(store.SyncInfo{At: time.Now().Add(-time.Minute), Source: "sync"}); err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, m, "kioskd_badge_holders"); got != 3 {
		t.Fatalf("holders = %v, want 3", got)
	}
	s = status.Snapshot{Now: time.Now(), Healthy: true}
	fillAccess(&s, &cfg, ver)
	if !s.Healthy || s.Access.OwnersStale || s.Access.Requirements[0].Holders != 3 || s.Access.Owners != 4 ||
		s.Access.OwnersAge < status.Duration(time.Minute) {
		t.Fatalf("synced: %+v %+v", s.Access, s.Problems)
	}
}

// gauge gathers one metric family's single value.
func gauge(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no single %s", name)
	return 0
}
