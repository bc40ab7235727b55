package handoff

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kioskd/kioskd/verify"
)

// A verdict's lane and loyalty visit reach the till: the fields the scanner
// inputs (issue 20) and the visit counter added to verify.Verdict.
func TestPayloadCarriesInputAndVisit(t *testing.T) {
	at := time.Date(2026, 12, 3, 14, 2, 0, 0, time.UTC)
	tests := []struct {
		name      string
		v         verify.Verdict
		hub       string
		wantInput string
		wantVisit string
	}{
		{"camera, no counter", verify.Verdict{Accept: true, At: at}, "", "camera", ""},
		{"scanner lane", verify.Verdict{Accept: true, At: at, Input: "door-scanner"}, "", "door-scanner", ""},
		{"hub default", verify.Verdict{At: at}, "display", "display", ""},
		{"verdict beats hub", verify.Verdict{At: at, Input: "desk"}, "display", "desk", ""},
		{"counted visit", verify.Verdict{Accept: true, At: at, Holder: "bb1x", Visit: 7, VisitPeriod: "2026-12", VisitCounted: true}, "",
			"camera", `{"count":7,"period":"2026-12","counted":true}`},
		{"same visit", verify.Verdict{Accept: true, At: at, Holder: "bb1x", Visit: 7, VisitPeriod: "2026-12"}, "",
			"camera", `{"count":7,"period":"2026-12","counted":false}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := FromVerdict("door-a", inputOf(tc.v, tc.hub), tc.v)
			if p.Input != tc.wantInput {
				t.Errorf("input %q, want %q", p.Input, tc.wantInput)
			}
			got := ""
			if p.Visit != nil {
				b, err := json.Marshal(p.Visit)
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			if got != tc.wantVisit {
				t.Errorf("visit %s, want %s", got, tc.wantVisit)
			}
		})
	}
}
