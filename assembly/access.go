package assembly

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/verify"
)

// fillAccess adds badge-gated entry to a status snapshot: the requirements
// with their holder counts and the owners' age; stale or missing owners are
// a problem (the door refuses, or admits unchecked, depending on
// access.stale_owners).
func fillAccess(s *status.Snapshot, cfg *config.Config, ver *verify.Verifier) {
	if !cfg.Access.Gated() {
		return
	}
	a := &status.Access{Match: cfg.Access.Match}
	oh, err := ver.OwnersHealth(s.Now)
	if err != nil {
		s.Problems = append(s.Problems, "reading badge owners: "+err.Error())
	}
	a.OwnersSynced, a.OwnersAge, a.OwnersStale, a.Owners = oh.Synced, status.Duration(oh.Age), oh.Stale, oh.Owners
	if a.Requirements, err = ver.Requirements(s.Now); err != nil {
		s.Problems = append(s.Problems, "counting badge holders: "+err.Error())
	}
	if a.OwnersStale {
		s.Problems = append(s.Problems, "badge owners stale or not synced ("+cfg.Access.StaleOwners+")")
		s.Healthy = false
	}
	s.Access = a
}

// accessCollector exports the owners' age and each requirement's holders.
type accessCollector struct {
	ver     *verify.Verifier
	log     *slog.Logger
	age     *prometheus.Desc
	holders *prometheus.Desc
}

func registerAccessMetrics(m *metrics.Metrics, cfg *config.Config, ver *verify.Verifier, log *slog.Logger) {
	if !cfg.Access.Gated() {
		return
	}
	c := &accessCollector{ver: ver, log: log,
		age: prometheus.NewDesc("kioskd_badge_owners_age_seconds",
			"Age of the badge owners data the access requirements are decided from (-1: never synced).", nil, nil),
		holders: prometheus.NewDesc("kioskd_badge_holders",
			"Addresses meeting each access requirement in the serving owners data.", []string{"requirement"}, nil),
	}
	if err := m.Register(c); err != nil {
		log.Warn("registering badge metrics", "err", err)
	}
}

func (c *accessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.age; ch <- c.holders }

func (c *accessCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	age := -1.0
	if oh, err := c.ver.OwnersHealth(now); err == nil && !oh.Synced.IsZero() {
		age = oh.Age.Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
	reqs, err := c.ver.Requirements(now)
	if err != nil {
		c.log.Warn("counting badge holders", "err", err)
		return
	}
	for _, q := range reqs {
		ch <- prometheus.MustNewConstMetric(c.holders, prometheus.GaugeValue, float64(q.Holders), q.Name)
	}
}
