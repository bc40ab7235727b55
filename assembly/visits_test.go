package assembly

import (
	"testing"
	"time"

	"github.com/kioskd/kioskd/config"
)

// TestVisitRuleFollowsTheConfig: policy.visits reaches the verifier's
// policy as the store's rule, zone and all; unset, the rule is off.
func TestVisitRuleFollowsTheConfig(t *testing.T) {
	cfg, err := config.Parse([]byte("policy:\n  reuse: unlimited\n  visits: {period: week, time_zone: Asia/Tokyo, cooldown: 45m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := PolicyOptions(cfg.Policy).Visits
	if r.Period != "week" || r.Loc.String() != "Asia/Tokyo" || r.Cooldown != 45*time.Minute || !r.Enabled() {
		t.Fatalf("rule %+v", r)
	}
	if r := PolicyOptions(config.Default().Policy).Visits; r.Enabled() {
		t.Fatalf("default policy counts visits: %+v", r)
	}
}
