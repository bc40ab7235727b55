package config

import (
	"strings"
	"testing"
	"time"
)

func TestVisitsConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		key        string // "" = valid
	}{
		{"off by default", "policy:\n  reuse: unlimited\n", ""},
		{"month", "policy:\n  reuse: unlimited\n  visits: {period: month, time_zone: Europe/London, cooldown: 2h}\n", ""},
		{"day local zone", "policy:\n  reuse: unlimited\n  visits: {period: day}\n", ""},
		{"week", "policy:\n  reuse: unlimited\n  visits: {period: week, cooldown: 0s}\n", ""},
		{"none", "policy:\n  reuse: unlimited\n  visits: {period: none, cooldown: 30m}\n", ""},
		{"bad period", "policy:\n  reuse: unlimited\n  visits: {period: year}\n", "policy.visits.period"},
		{"needs unlimited", "policy:\n  reuse: single\n  visits: {period: month}\n", "policy.visits.period"},
		{"needs unlimited, not cooldown", "policy:\n  reuse: cooldown\n  cooldown: 1h\n  visits: {period: month}\n", "policy.reuse: unlimited"},
		{"keys without period", "policy:\n  reuse: unlimited\n  visits: {cooldown: 1h}\n", "policy.visits.period"},
		{"bad zone", "policy:\n  reuse: unlimited\n  visits: {period: month, time_zone: Mars/Olympus}\n", "policy.visits.time_zone"},
		{"negative cooldown", "policy:\n  reuse: unlimited\n  visits: {period: month, cooldown: -1h}\n", "policy.visits.cooldown"},
		{"huge cooldown", "policy:\n  reuse: unlimited\n  visits: {period: month, cooldown: 1000h}\n", "policy.visits.cooldown"},
		{"unknown key", "policy:\n  reuse: unlimited\n  visits: {period: month, reset: monthly}\n", "reset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", c.Policy.Visits)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %q", err, tt.key)
			}
		})
	}
	c, err := Parse([]byte("policy:\n  reuse: unlimited\n  visits: {period: month, time_zone: America/New_York, cooldown: 90m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Policy.Visits
	if !v.Enabled() || v.Period != PeriodMonth || v.Cooldown != 90*time.Minute || v.Location().String() != "America/New_York" {
		t.Errorf("parsed %+v, zone %v", v, v.Location())
	}
	if (Visits{}).Enabled() || (Visits{}).Location() != time.Local {
		t.Error("the zero Visits is off, in the local zone")
	}
}
