package main

// The local hand-off (issue 21): the outputs list of the config becomes an
// handoff.Hub whose senders are webhooks and MQTT publishers. run.go calls
// into this file from a few marked lines only.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/output/handoff"
	"github.com/kioskd/kioskd/output/mqtt"
	"github.com/kioskd/kioskd/output/webhook"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// openOutputs opens the configured outputs through their kinds
// (output/webhook, output/mqtt): it reads their secrets and CA files, and
// with a queue makes each one's hub; without one (preflight) it only
// checks. Nothing connects until a hub runs.
func openOutputs(cfg *config.Config, q handoff.Queue, log *slog.Logger) (handoffs, error) {
	var hs handoffs
	for i, oc := range cfg.Outputs {
		key := fmt.Sprintf("outputs[%d]", i)
		env := handoff.Env{Name: oc.Name, Kiosk: cfg.KioskID, Queue: q, Logger: log.With("output", oc.Name),
			Secret: func(k, file, env string) (string, error) {
				s := config.Secret{Key: key + "." + k, Name: file, File: cfg.Resolve(file), Env: env}
				if k == "credentials_file" {
					s = cfg.OutputCredentials(i) // the fleet's login for the fleet's broker
				}
				v, warn, err := config.ReadSecret(s)
				if warn != "" {
					log.Warn(warn)
				}
				return v, err
			}}
		env.Resolve = cfg.Resolve
		common := handoff.Common{Verdicts: oc.Verdicts, MaxQueued: oc.MaxQueued}
		var s handoff.Sender
		var target string
		var err error
		switch oc.Kind {
		case config.OutputWebhook:
			var w *webhook.Sender
			w, err = webhook.Prepare(webhook.Config{URL: oc.URL, SecretFile: oc.SecretFile, Timeout: oc.Timeout, CAFile: oc.CAFile,
				Common: common}, env, "kioskd/"+version)
			if err == nil {
				s, target = w, w.Target()
			}
		case config.OutputMQTT:
			broker, caFile := cfg.OutputBroker(i)
			var m *mqtt.Sender
			m, err = mqtt.Prepare(mqtt.Config{Broker: broker, CredentialsFile: oc.CredentialsFile, Topic: oc.Topic, CAFile: caFile,
				Timeout: oc.Timeout, Common: common}, env)
			if err == nil {
				s, target = m, m.Target()
			}
		default:
			err = fmt.Errorf("kind: %q is not known", oc.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if q == nil {
			continue
		}
		h, err := env.Open(common, oc.Kind, target, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// checkOutputs is preflight's part for the outputs.
func checkOutputs(cfg *config.Config) error {
	_, err := openOutputs(cfg, nil, slog.New(slog.DiscardHandler))
	return err
}

// outputsFor is the daemon's hand-off hub, nil without outputs. Queues of
// outputs no longer configured are kept (and shown in status) until
// `kioskd outputs drop`.
func outputsFor(cfg *config.Config, st *store.Store, m *metrics.Metrics, log *slog.Logger) (handoffs, error) {
	if len(cfg.Outputs) == 0 {
		return nil, nil
	}
	// One hub per output, as an output registry opens them: each its own
	// queue writer and deliverer.
	hs, err := openOutputs(cfg, st, log)
	if err != nil {
		return nil, err
	}
	if err := m.Register(&outputCollector{hubs: hs}); err != nil {
		log.Warn("registering output metrics", "err", err)
	}
	return hs, nil
}

// handoffs are the daemon's outputs.
type handoffs []*handoff.Hub

// status is every output's state, in configuration order.
func (hs handoffs) status() []handoff.Status {
	var out []handoff.Status
	for _, h := range hs {
		out = append(out, h.Status()...)
	}
	return out
}

// handOff gives a verdict to the outputs; it runs on the scan lane after
// the outputs (relay, LEDs) were driven, and never waits.
func (d *daemon) handOff(v verify.Verdict) {
	for _, h := range d.outputs {
		h.Verdict(v)
	}
}

// runOutputs starts the hub on the generation's wait group.
func (d *daemon) runOutputs(ctx context.Context, goFn func(func())) {
	for _, h := range d.outputs {
		goFn(func() { _ = h.Run(ctx) })
	}
}

// storedOutputs is the outputs' part of the status read from the store
// alone (no daemon running, or queues of outputs no longer configured).
func storedOutputs(s *status.Snapshot, cfg *config.Config, st *store.Store) {
	qs, err := st.HandoffQueues()
	if err != nil {
		s.Problems = append(s.Problems, "reading the hand-off queues: "+err.Error())
		return
	}
	configured := map[string]config.Output{}
	for _, o := range cfg.Outputs {
		configured[o.Name] = o
	}
	seen := map[string]bool{}
	for _, q := range qs {
		seen[q.Output] = true
		o, ok := configured[q.Output]
		so := status.Output{Name: q.Output, Kind: o.Kind, Configured: ok, Queued: q.Queued, Dropped: q.Dropped}
		s.Outputs = append(s.Outputs, so)
	}
	orphanProblems(s)
	for _, o := range cfg.Outputs {
		if !seen[o.Name] {
			s.Outputs = append(s.Outputs, status.Output{Name: o.Name, Kind: o.Kind, Configured: true})
		}
	}
}

// liveOutputs replaces the configured outputs' status with the running
// hub's, and lists a failing or slow receiver among the problems (the door
// is unaffected, so they do not make the kiosk unhealthy).
func liveOutputs(s *status.Snapshot, hs handoffs) {
	if len(hs) == 0 {
		return
	}
	live := map[string]status.Output{}
	for _, os := range hs.status() {
		live[os.Name] = status.Output{Name: os.Name, Kind: os.Kind, Target: os.Target, Configured: true, Connected: os.Connected,
			Queued: os.Queued, Dropped: os.Dropped, Delivered: os.Delivered, Refused: os.Refused, Failures: os.Failures,
			LastError: os.LastError, NextAttempt: os.NextAttempt, LastDelivered: os.LastDelivered,
			LastLatency: status.Duration(os.LastLatency), Slow: os.Slow}
		if p := os.Problem(s.Now); p != "" {
			s.Problems = append(s.Problems, p)
		}
	}
	for i, o := range s.Outputs {
		if l, ok := live[o.Name]; ok {
			s.Outputs[i] = l
		}
	}
	orphanProblems(s)
}

// orphanProblems lists the queues kept from outputs no longer configured.
// Like redemptions kept from a fleet, they make the kiosk unhealthy although
// the door works: the till never gets them until an operator acts.
func orphanProblems(s *status.Snapshot) {
	for _, o := range s.Outputs {
		if !o.Configured && o.Queued > 0 {
			s.Problems = append(s.Problems, fmt.Sprintf("output %s: %d hand-offs queued for an output no longer configured: "+
				"configure it again to deliver them, or discard them with kioskd outputs drop %s", o.Name, o.Queued, o.Name))
			s.Healthy = false
		}
	}
}

// outputCollector exports the outputs' state at scrape time. Label values
// are output names from the config, never anything a visitor shows.
type outputCollector struct{ hubs handoffs }

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
	for _, s := range c.hubs.status() {
		ch <- prometheus.MustNewConstMetric(outQueued, prometheus.GaugeValue, float64(s.Queued), s.Name)
		ch <- prometheus.MustNewConstMetric(outDelivered, prometheus.CounterValue, float64(s.Delivered), s.Name)
		ch <- prometheus.MustNewConstMetric(outRefused, prometheus.CounterValue, float64(s.Refused), s.Name)
		ch <- prometheus.MustNewConstMetric(outDropped, prometheus.CounterValue, float64(s.Dropped), s.Name)
		ch <- prometheus.MustNewConstMetric(outFailures, prometheus.GaugeValue, float64(s.Failures), s.Name)
		ch <- prometheus.MustNewConstMetric(outLatency, prometheus.GaugeValue, s.LastLatency.Seconds(), s.Name)
	}
}

// cmdOutputs is the operator's side of the hand-off queues.
func cmdOutputs(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	usage := func() (int, error) {
		fmt.Fprintln(stderr, "Usage: kioskd outputs list -config FILE | kioskd outputs drop -config FILE NAME")
		return exitError, errUsage
	}
	if len(args) == 0 {
		return usage()
	}
	switch args[0] {
	case "list":
		cfg, st, _, _, err := toolSetup("outputs list", "-config FILE", args[1:], stderr, nil)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		var s status.Snapshot
		storedOutputs(&s, &cfg, st)
		if len(s.Outputs) == 0 {
			fmt.Fprintln(stdout, "no outputs configured and no hand-off queued")
		}
		for _, o := range s.Outputs {
			what := o.Kind
			if !o.Configured {
				what = "not configured"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%d queued\t%d dropped\n", o.Name, what, o.Queued, o.Dropped)
		}
		return exitOK, nil
	case "drop":
		_, st, _, rest, err := toolSetup("outputs drop", "-config FILE NAME", args[1:], stderr, nil)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		if len(rest) != 1 {
			return exitError, errors.New("outputs drop: name one output")
		}
		n, err := st.HandoffDrop(rest[0])
		if err != nil {
			return exitError, err
		}
		fmt.Fprintf(stdout, "dropped %d queued hand-offs of output %s: its receiver will never get them\n", n, rest[0])
		return exitOK, nil
	}
	return usage()
}
