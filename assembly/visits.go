package assembly

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// The loyalty visit counter (policy.visits) as the parts and an operator
// see it: the rule verify and fleet count under, a status section and
// the metrics.

// VisitRule is policy.visits as the store counts it (the zero rule: off).
func VisitRule(v config.Visits) store.VisitRule {
	if !v.Enabled() {
		return store.VisitRule{}
	}
	return store.VisitRule{Period: v.Period, Loc: v.Location(), Cooldown: v.Cooldown}
}

// fillVisits adds the visit counter's totals for the current period; fs,
// when the daemon runs a fleet, adds what was shared.
func fillVisits(s *status.Snapshot, cfg *config.Config, ver *verify.Verifier, fs *fleet.Status) {
	vc := cfg.Policy.Visits
	if !vc.Enabled() {
		return
	}
	tot, _, err := ver.VisitTotals(s.Now)
	if err != nil {
		s.Problems = append(s.Problems, "reading visit totals: "+err.Error())
	}
	v := &status.Visits{Period: vc.Period, Current: tot.Period, TimeZone: vc.Location().String(),
		Cooldown: status.Duration(vc.Cooldown), Visits: tot.Visits, Holders: tot.Holders}
	if fs != nil {
		v.Published, v.Applied = fs.Visits.Published, fs.Visits.Applied
	}
	s.Visits = v
}

// fillVisits is fillVisits for the running daemon.
func (d *Daemon) fillVisits(s *status.Snapshot) {
	var fs *fleet.Status
	if d.fleet != nil {
		st := d.fleet.Status()
		fs = &st
	}
	fillVisits(s, &d.cfg, d.ver, fs)
}

// visitCollector exports the current period's visits and holders, and
// this kiosk's scans under the counter.
type visitCollector struct {
	ver                    *verify.Verifier
	log                    *slog.Logger
	visits, holders, scans *prometheus.Desc
}

func registerVisitMetrics(m *metrics.Metrics, cfg *config.Config, ver *verify.Verifier, log *slog.Logger) {
	if !cfg.Policy.Visits.Enabled() {
		return
	}
	c := &visitCollector{ver: ver, log: log,
		visits: prometheus.NewDesc("kioskd_visits_current_period",
			"Loyalty visits counted in the current period (policy.visits.period), all holders, the fleet's merged in.", nil, nil),
		holders: prometheus.NewDesc("kioskd_visit_holders_current_period",
			"Holders with at least one visit in the current period.", nil, nil),
		scans: prometheus.NewDesc("kioskd_visit_scans_total",
			"Accepted scans under the visit counter at this kiosk since start, by result: counted (a new visit), same (within the cooldown), full (the holder's period is full).",
			[]string{"result"}, nil),
	}
	if err := m.Register(c); err != nil {
		log.Warn("registering visit metrics", "err", err)
	}
}

func (c *visitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.visits
	ch <- c.holders
	ch <- c.scans
}

func (c *visitCollector) Collect(ch chan<- prometheus.Metric) {
	vs := c.ver.VisitStats()
	ch <- prometheus.MustNewConstMetric(c.scans, prometheus.CounterValue, float64(vs.Counted), "counted")
	ch <- prometheus.MustNewConstMetric(c.scans, prometheus.CounterValue, float64(vs.Same), "same")
	ch <- prometheus.MustNewConstMetric(c.scans, prometheus.CounterValue, float64(vs.Full), "full")
	tot, _, err := c.ver.VisitTotals(time.Now())
	if err != nil {
		c.log.Warn("reading visit totals", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.visits, prometheus.GaugeValue, float64(tot.Visits))
	ch <- prometheus.MustNewConstMetric(c.holders, prometheus.GaugeValue, float64(tot.Holders))
}
