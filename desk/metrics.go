package desk

import "github.com/prometheus/client_golang/prometheus"

// collector exports the desk's counts.
type collector struct {
	d                      *Desk
	opens, checks, refused *prometheus.Desc
}

func newCollector(d *Desk) prometheus.Collector {
	return &collector{d: d,
		opens: prometheus.NewDesc("kioskd_desk_manual_opens_total",
			"Manual opens asked for at the staff desk, by result: opened, rate_limited, not_recorded (the door stayed shut).", []string{"result"}, nil),
		checks: prometheus.NewDesc("kioskd_desk_checks_total", "Codes checked at the staff desk.", nil, nil),
		refused: prometheus.NewDesc("kioskd_desk_refused_total",
			"Staff desk requests refused: no valid staff token, or sent by another site.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.opens
	ch <- c.checks
	ch <- c.refused
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.d.Stats()
	for _, r := range []struct {
		result string
		n      uint64
	}{{"opened", s.Opened}, {"rate_limited", s.RateLimited}, {"not_recorded", s.NotRecorded}} {
		ch <- prometheus.MustNewConstMetric(c.opens, prometheus.CounterValue, float64(r.n), r.result)
	}
	ch <- prometheus.MustNewConstMetric(c.checks, prometheus.CounterValue, float64(s.Checks))
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused))
}
