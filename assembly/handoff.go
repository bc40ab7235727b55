package assembly

// The hand-off outputs (issue 21: output/handoff, output/webhook,
// output/mqtt) need a little more of the assembler than other outputs: the
// store for their durable queues, secrets read like the other secrets, a
// status line each and their metrics.

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/output"
	"github.com/kioskd/kioskd/output/handoff"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
)

// outputSecret reads the secrets an outputs[i] entry names, as every
// secret is read (config.ReadSecret: $CREDENTIALS_DIRECTORY, bounded regular
// files, a warning when world-readable, errors without the value).
func outputSecret(cfg *config.Config, i int, log *slog.Logger) func(key, file, env string) (string, error) {
	return func(key, file, env string) (string, error) {
		v, warn, err := config.ReadSecret(config.Secret{Key: fmt.Sprintf("outputs[%d].%s", i, key), Name: file,
			File: cfg.Resolve(file), Env: env})
		if warn != "" {
			log.Warn(warn)
		}
		return v, err
	}
}

// preflightOutputs runs each output kind's Preflight (the secrets and files
// its Open will read) with the Spec Open will get, but no store.
func preflightOutputs(cfg *config.Config) error {
	var errs []error
	log := slog.New(slog.DiscardHandler)
	for i, p := range cfg.Outputs {
		kind, err := output.Lookup(p.Kind)
		if err != nil || kind.Preflight == nil {
			continue // Check has named an unknown kind
		}
		s := output.Spec{Name: p.Name, Kiosk: cfg.KioskID, Decode: p.Decode, Logger: log, Resolve: cfg.Resolve, Secret: outputSecret(cfg, i, log)}
		if err := kind.Preflight(s); err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// handoffStatus is one hand-off output's state (an output that has one).
type handoffStatus interface {
	Status() []handoff.Status
}

func (d *Daemon) handoffs() []handoff.Status {
	var out []handoff.Status
	for _, o := range d.outputs {
		if h, ok := o.(handoffStatus); ok {
			out = append(out, h.Status()...)
		}
	}
	return out
}

// outputsStatus fills the snapshot's outputs: the running ones, and the
// queues kept from outputs no longer configured.
func (d *Daemon) outputsStatus(s *status.Snapshot) {
	StoredOutputs(s, &d.cfg, d.st)
	live := map[string]status.Output{}
	for _, os := range d.handoffs() {
		live[os.Name] = status.Output{Name: os.Name, Kind: os.Kind, Target: os.Target, Configured: true, Connected: os.Connected,
			Queued: os.Queued, Dropped: os.Dropped, Delivered: os.Delivered, Refused: os.Refused, Failures: os.Failures,
			LastError: os.LastError, NextAttempt: os.NextAttempt, LastDelivered: os.LastDelivered,
			LastLatency: status.Duration(os.LastLatency), Slow: os.Slow}
	}
	for i, o := range s.Outputs {
		if l, ok := live[o.Name]; ok {
			s.Outputs[i] = l
		}
	}
}

// StoredOutputs fills the snapshot's outputs from the store alone (no
// daemon running): every queue, and every configured output. A queue kept
// from an output no longer configured is a problem that makes the kiosk
// unhealthy although the door works: the till never gets those hand-offs
// until an operator configures it again or drops them.
func StoredOutputs(s *status.Snapshot, cfg *config.Config, st *store.Store) {
	s.Outputs = nil
	qs, err := st.HandoffQueues()
	if err != nil {
		s.Problems = append(s.Problems, "reading the hand-off queues: "+err.Error())
		return
	}
	configured := map[string]config.Plugin{}
	for _, o := range cfg.Outputs {
		configured[o.Name] = o
	}
	seen := map[string]bool{}
	for _, q := range qs {
		seen[q.Output] = true
		o, ok := configured[q.Output]
		s.Outputs = append(s.Outputs, status.Output{Name: q.Output, Kind: o.Kind, Configured: ok, Queued: q.Queued, Dropped: q.Dropped})
		if !ok && q.Queued > 0 {
			s.Problems = append(s.Problems, fmt.Sprintf("output %s: %d hand-offs queued for an output no longer configured: "+
				"configure it again to deliver them, or discard them with kioskd outputs drop %s", q.Output, q.Queued, q.Output))
			s.Healthy = false
		}
	}
	for _, o := range cfg.Outputs {
		if !seen[o.Name] {
			s.Outputs = append(s.Outputs, status.Output{Name: o.Name, Kind: o.Kind, Configured: true})
		}
	}
}

// registerOutputMetrics exports the hand-off outputs' state at scrape
// time. Label values are output names from the config, never anything a
// visitor shows.
func registerOutputMetrics(m *metrics.Metrics, d *Daemon, log *slog.Logger) {
	if err := m.Register(&outputCollector{d: d}); err != nil {
		log.Warn("registering output metrics", "err", err)
	}
}

type outputCollector struct{ d *Daemon }

var (
	outQueued    = prometheus.NewDesc("kioskd_output_queued", "Hand-offs waiting in the output's durable queue.", []string{"output"}, nil)
	outDelivered = prometheus.NewDesc("kioskd_output_delivered_total", "Hand-offs the receiver acknowledged, since start.", []string{"output"}, nil)
	outRefused   = prometheus.NewDesc("kioskd_output_refused_total", "Hand-offs the receiver refused for good (dropped), since start.", []string{"output"}, nil)
	outDropped   = prometheus.NewDesc("kioskd_output_dropped_total", "Hand-offs dropped because the queue was full, ever.", []string{"output"}, nil)
	outFailures  = prometheus.NewDesc("kioskd_output_failures", "Failed delivery attempts in a row (0: delivering).", []string{"output"}, nil)
	outLatency   = prometheus.NewDesc("kioskd_output_last_delivery_seconds", "How long the last successful delivery took.", []string{"output"}, nil)
)

func (c *outputCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{outQueued, outDelivered, outRefused, outDropped, outFailures, outLatency} {
		ch <- d
	}
}

func (c *outputCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.d.handoffs() {
		ch <- prometheus.MustNewConstMetric(outQueued, prometheus.GaugeValue, float64(s.Queued), s.Name)
		ch <- prometheus.MustNewConstMetric(outDelivered, prometheus.CounterValue, float64(s.Delivered), s.Name)
		ch <- prometheus.MustNewConstMetric(outRefused, prometheus.CounterValue, float64(s.Refused), s.Name)
		ch <- prometheus.MustNewConstMetric(outDropped, prometheus.CounterValue, float64(s.Dropped), s.Name)
		ch <- prometheus.MustNewConstMetric(outFailures, prometheus.GaugeValue, float64(s.Failures), s.Name)
		ch <- prometheus.MustNewConstMetric(outLatency, prometheus.GaugeValue, s.LastLatency.Seconds(), s.Name)
	}
}

var _ output.Output = (*handoff.Hub)(nil) // a hand-off hub is an output
