package status

import (
	"fmt"
	"strconv"
)

// Visits is the loyalty visit counter (policy.visits): this period's
// totals across holders, every kiosk's visits that this one has merged.
type Visits struct {
	Period   string   `json:"period"`    // day, week, month or none
	Current  string   `json:"current"`   // the current period's key, e.g. 2026-12
	TimeZone string   `json:"time_zone"` // where periods begin and end
	Cooldown Duration `json:"cooldown"`
	Visits   uint64   `json:"visits"`  // counted in the current period
	Holders  uint64   `json:"holders"` // holders with a visit in it
	// Published, Applied: visits shared with and taken from the fleet
	// since the daemon started (zero without a fleet).
	Published uint64 `json:"published,omitempty"`
	Applied   uint64 `json:"applied,omitempty"`
}

// VisitLabel is a verdict's visit in words: "visit 7 of 2026-12", with
// "(same visit)" for a scan within the cooldown; "" when none.
func VisitLabel(visit int, period string, counted bool) string {
	if visit <= 0 {
		return ""
	}
	s := "visit " + strconv.Itoa(visit) + " of " + period
	if !counted {
		s += " (same visit)"
	}
	return s
}

func (v *Visits) line() string {
	s := fmt.Sprintf("%d visits by %d holders in %s (per %s, %s, cooldown %s)", v.Visits, v.Holders, v.Current, v.Period, v.TimeZone, v.Cooldown)
	if v.Published > 0 || v.Applied > 0 {
		s += fmt.Sprintf("; %d shared with the fleet, %d from peers", v.Published, v.Applied)
	}
	return s
}
