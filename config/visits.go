package config

import (
	"time"
)

// Visit counting periods (policy.visits.period).
const (
	PeriodDay   = "day"   // a calendar day in the venue's time zone
	PeriodWeek  = "week"  // an ISO week (Monday to Sunday) in the venue's time zone
	PeriodMonth = "month" // a calendar month in the venue's time zone
	PeriodNone  = "none"  // never reset: a lifetime count
)

// Visits is the loyalty visit counter (policy.visits): with reuse
// unlimited, every accepted scan identifies the holder, and a scan at least
// Cooldown after the holder's last counted visit is a new visit, numbered
// within the Period. An empty Period turns the counter off.
type Visits struct {
	Period string `yaml:"period"`
	// TimeZone is the venue's IANA zone, where periods begin and end; empty
	// = the kiosk's local zone (TZ, /etc/localtime).
	TimeZone string `yaml:"time_zone"`
	// Cooldown: a scan within this of the holder's last counted visit is
	// accepted but is not a new visit (a second scan at the till, a
	// customer who comes back for the drink they forgot).
	Cooldown time.Duration `yaml:"cooldown"`
}

// Enabled reports whether visits are counted.
func (v Visits) Enabled() bool { return v.Period != "" }

// Location is the venue's time zone (validated at load; a zone the
// kiosk's tz database lost since falls back to UTC).
func (v Visits) Location() *time.Location {
	if v.TimeZone == "" {
		return time.Local
	}
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (v *Visits) validate(reuse Reuse) error {
	if !v.Enabled() {
		if v.TimeZone != "" || v.Cooldown != 0 {
			return keyErr("policy.visits.period", "must be set (day, week, month or none) when policy.visits has other keys")
		}
		return nil
	}
	switch v.Period {
	case PeriodDay, PeriodWeek, PeriodMonth, PeriodNone:
	default:
		return keyErr("policy.visits.period", "must be day, week, month or none, not %q", v.Period)
	}
	if reuse != ReuseUnlimited {
		return keyErr("policy.visits.period", "counts visits only with policy.reuse: unlimited (a loyalty kiosk identifies, it does not consume), not %q", reuse)
	}
	if v.TimeZone != "" {
		if _, err := time.LoadLocation(v.TimeZone); err != nil {
			return keyErr("policy.visits.time_zone", "not a time zone this kiosk knows (an IANA name such as Europe/London): %v", err)
		}
	}
	if v.Cooldown < 0 || v.Cooldown > 31*24*time.Hour {
		return keyErr("policy.visits.cooldown", "must be between 0 and 744h, not %v", v.Cooldown)
	}
	return nil
}
