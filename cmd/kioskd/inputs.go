package main

// The daemon's inputs (issue 20): the camera and the scanners of `inputs:`.
// Each scanner is a lane of its own, a reader (input/hid, input/serial)
// feeding a kiosk.Decider, the same decision step as the camera's; they
// share the verifier, the outputs and the monitor. This file is the wiring;
// run.go calls it from a few marked lines.

import (
	"context"
	"fmt"
	"log/slog"
	stdsync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/input/hid"
	"github.com/kioskd/kioskd/input/serial"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/verify"
)

// newReader makes the reader of one scanner input; onState may be nil.
func newReader(in config.ScanInput, log *slog.Logger, onState func(input.State)) (input.Reader, error) {
	log = log.With("input", in.Name)
	switch in.Type {
	case config.InputHID:
		term, err := hid.ParseTerminator(in.Terminator)
		if err != nil {
			return nil, err
		}
		return hid.New(hid.Options{Device: in.Device, Terminator: term, KeyTimeout: in.KeyTimeout, Logger: log, OnState: onState})
	case config.InputSerial:
		term, err := serial.ParseTerminator(in.Terminator)
		if err != nil {
			return nil, err
		}
		par, err := serial.ParseParity(in.Parity)
		if err != nil {
			return nil, err
		}
		return serial.New(serial.Options{Device: in.Device, Baud: in.Baud, DataBits: in.DataBits, StopBits: in.StopBits,
			Parity: par, Terminator: term, Trigger: []byte(in.Trigger), TriggerEvery: in.TriggerInterval,
			Logger: log, OnState: onState})
	}
	return nil, fmt.Errorf("input %s: type %q has no reader", in.Name, in.Type)
}

// inputLanes are one generation's scanner lanes.
type inputLanes struct {
	camera string // the camera input's name; "" for a kiosk without one
	lanes  []inputLane
	mon    *kiosk.Monitor
	meter  *inputMetrics
	log    *slog.Logger
}

type inputLane struct {
	cfg    config.ScanInput
	reader input.Reader
	dec    *kiosk.Decider
}

// newInputLanes builds the scanner lanes of cfg (opening nothing yet) and
// registers the per-input metrics. A kiosk without a camera input tells the
// monitor so: no camera is then no fault.
func newInputLanes(cfg *config.Config, mon *kiosk.Monitor, ver kiosk.Verifier, sig gpio.Signal, m *metrics.Metrics, log *slog.Logger) (*inputLanes, error) {
	l := &inputLanes{mon: mon, meter: newInputMetrics(), log: log}
	if err := m.Register(l.meter); err != nil {
		return nil, fmt.Errorf("registering the input metrics: %w", err)
	}
	mon.InputMeter = l.meter
	for _, in := range cfg.Inputs() {
		l.meter.declare(in.Name, in.Type)
		if in.Type == config.InputCamera {
			l.camera = in.Name
			continue
		}
		name := in.Name
		r, err := newReader(in, log, func(s input.State) { mon.InputState(name, s) })
		if err != nil {
			return nil, fmt.Errorf("inputs: %s: %w", in.Name, err)
		}
		mon.AddInput(in.Name, in.Type, in.Device)
		// The monitor hears the verdicts (history, fleet, upload, metrics)
		// but not their latency: its latency figures are the camera's.
		dec := &kiosk.Decider{Verifier: ver, Signal: sig, Rearm: in.Rearm, Observer: verdictsOnly{mon}, Logger: log, Input: in.Name}
		l.lanes = append(l.lanes, inputLane{cfg: in, reader: r, dec: dec})
	}
	mon.NoCamera = l.camera == ""
	return l, nil
}

// openCamera opens the camera input's source, or for a kiosk with scanners
// only a source that delivers nothing until the generation ends.
func (l *inputLanes) openCamera(cfg *config.Config, o scanner.SourceOptions) (scanner.Source, error) {
	if l.camera == "" {
		return noCamera{}, nil
	}
	onState := o.OnState
	o.OnState = func(s scanner.State) {
		l.meter.InputUp(l.camera, s.Up)
		if onState != nil {
			onState(s)
		}
	}
	return scanner.Open(cfg.Camera, o)
}

// start runs every scanner lane until ctx ends.
func (l *inputLanes) start(ctx context.Context, wg *stdsync.WaitGroup, report func(error)) {
	for _, ln := range l.lanes {
		wg.Go(func() {
			onRead := func(at time.Time) { l.mon.InputRead(ln.cfg.Name, at) }
			if err := kiosk.RunText(ctx, ln.reader, ln.dec, onRead); err != nil && ctx.Err() == nil {
				report(fmt.Errorf("input %s: %w", ln.cfg.Name, err))
			}
		})
		l.log.Info("scanner input", "input", ln.cfg.Name, "device", ln.reader.Describe())
	}
}

// fill puts the inputs into the status snapshot: the camera's from the
// lane figures, the scanners' from the monitor.
func (l *inputLanes) fill(s *status.Snapshot, cam kiosk.LaneStats) {
	if l.camera == "" {
		s.Camera.Source = "" // not in use: camera.source is only its default
	} else {
		s.Inputs = append(s.Inputs, status.Input{Name: l.camera, Type: config.InputCamera, Up: cam.CameraUp, Detail: s.Camera.Source})
	}
	for _, in := range l.mon.Inputs() {
		s.Inputs = append(s.Inputs, status.Input{Name: in.Name, Type: in.Kind, Up: in.Up, Detail: in.Detail, Reads: in.Reads, LastRead: in.LastRead})
	}
}

// verdictsOnly passes on an Observer's verdicts and nothing else.
type verdictsOnly struct{ o kiosk.Observer }

func (v verdictsOnly) Frame(scanner.Frame, time.Duration, bool) {}
func (v verdictsOnly) Verdict(vd verify.Verdict)                { v.o.Verdict(vd) }

// noCamera is the frame source of a kiosk without a camera.
type noCamera struct{}

func (noCamera) Run(ctx context.Context, _ func(scanner.Frame)) error {
	<-ctx.Done()
	return nil
}

func (noCamera) Describe() string { return "none (scanner inputs only)" }

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
	if typ != config.InputCamera {
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
