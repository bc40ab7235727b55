package assembly

// The scanner inputs' part of the assembly (issue 20): each inputs: entry's
// lane names its input in verdicts and events, its state goes to the
// monitor (status, fault pattern), its reads are counted, and the
// per-input metrics are registered.

import (
	"context"
	stdsync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/input/camera"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/verify"
)

// countReads passes a text input's reads on, telling onRead of each (never
// its text) first.
type countReads struct {
	input.Text
	onRead func(at time.Time)
}

func (c countReads) Read(ctx context.Context, fn func(input.Read)) error {
	return c.Text.Read(ctx, func(r input.Read) {
		at := r.At
		if at.IsZero() {
			at = time.Now()
		}
		c.onRead(at)
		fn(r)
	})
}

// fillInputs puts the inputs into the status snapshot: the camera's from
// the lane figures, the scanners' from the monitor.
func (d *Daemon) fillInputs(s *status.Snapshot, cam kiosk.LaneStats) {
	if !d.hasCamera() {
		s.Camera.Source, s.Camera.Detail = "", "none (scanner inputs only)"
	} else {
		s.Inputs = append(s.Inputs, status.Input{Name: camera.Kind, Type: camera.Kind, Up: cam.CameraUp, Detail: s.Camera.Source,
			VerdictLatencyP50: status.Duration(cam.VerdictLatencyP50), VerdictLatencyP95: status.Duration(cam.VerdictLatencyP95)})
	}
	for _, in := range d.mon.Inputs() {
		s.Inputs = append(s.Inputs, status.Input{Name: in.Name, Type: in.Kind, Up: in.Up, Detail: in.Detail, Reads: in.Reads, LastRead: in.LastRead,
			VerdictLatencyP50: status.Duration(in.VerdictLatencyP50), VerdictLatencyP95: status.Duration(in.VerdictLatencyP95)})
	}
}

// inputState is a scanner lane's OnState: the monitor hears it (status,
// fault pattern, metrics) and the log says it.
func (d *Daemon) inputState(name string) func(scanner.State) {
	log := logState(d.log.With("input", name))
	return func(s scanner.State) {
		d.mon.InputState(name, s)
		log(s)
	}
}

// inputMetrics are the per-input series: kioskd_input_up,
// kioskd_input_reads_total and kioskd_input_verdicts_total. It implements
// kiosk.InputMeter.
type inputMetrics struct {
	up       *prometheus.GaugeVec
	reads    *prometheus.CounterVec
	verdicts *prometheus.CounterVec
	mu       stdsync.Mutex
	types    map[string]string
}

func newInputMetrics() *inputMetrics {
	return &inputMetrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kioskd_input_up",
			Help: "1 while the input's device is open (the camera capturing, a scanner attached), else 0."}, []string{"input", "type"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kioskd_input_reads_total",
			Help: "Complete reads from a scanner input, before the payload rule and rearm."}, []string{"input"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kioskd_input_verdicts_total",
			Help: "Verdicts by the input the code was read at and their reason."}, []string{"input", "reason"}),
		types: map[string]string{},
	}
}

// declare makes an input's series exist from the start (down, no reads).
func (m *inputMetrics) declare(name, typ string) {
	m.mu.Lock()
	m.types[name] = typ
	m.mu.Unlock()
	m.up.WithLabelValues(name, typ).Set(0)
	if typ != camera.Kind {
		m.reads.WithLabelValues(name)
	}
	m.verdicts.WithLabelValues(name, verify.OK.String())
}

func (m *inputMetrics) InputUp(name string, up bool) {
	m.mu.Lock()
	typ := m.types[name]
	m.mu.Unlock()
	v := 0.0
	if up {
		v = 1
	}
	m.up.WithLabelValues(name, typ).Set(v)
}

func (m *inputMetrics) InputRead(name string) { m.reads.WithLabelValues(name).Inc() }

func (m *inputMetrics) InputVerdict(name, reason string, _ bool) {
	if _, ok := verify.ParseReason(reason); !ok {
		reason = "invalid"
	}
	m.verdicts.WithLabelValues(name, reason).Inc()
}

func (m *inputMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.up.Describe(ch)
	m.reads.Describe(ch)
	m.verdicts.Describe(ch)
}

func (m *inputMetrics) Collect(ch chan<- prometheus.Metric) {
	m.up.Collect(ch)
	m.reads.Collect(ch)
	m.verdicts.Collect(ch)
}
