package kiosk

import (
	"context"
	"fmt"
	"slices"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
)

// Meter receives the pipeline's measurements (package metrics implements it).
type Meter interface {
	Verdict(reason string, accept bool)
	DecodeLatency(d time.Duration)
	Frame()
	CameraUp(up bool)
	// FramesDropped counts frames the source dropped unseen (gaps in Seq).
	FramesDropped(n uint64)
	// VerdictLatency records one verdict's time from frame capture (or a
	// scanner's read) at the named input.
	VerdictLatency(input string, d time.Duration)
}

// Monitor watches the lane: the camera's state, the frame rate and decode
// time, the cache and clock health. It turns them into one health verdict,
// drives the outputs' standing fault indication from it, and keeps the
// figures the status page shows. It implements Observer.
type Monitor struct {
	Verifier interface{ Health(time.Time) verify.Health }
	Signal   gpio.Signal // optional
	Meter    Meter       // optional
	// OnVerdict, if set, also hears every verdict (status history, fleet).
	OnVerdict func(verify.Verdict)
	// Preview, if set, is offered every frame for the status page's camera view.
	Preview *Preview
	Now     func() time.Time
	// NoCamera: the kiosk has scanner inputs only, so no camera is
	// expected and none is a problem.
	NoCamera bool
	// InputMeter, if set, hears the text inputs' measurements.
	InputMeter InputMeter

	mu        stdsync.Mutex
	cam       scanner.State
	camSeen   bool
	frames    []time.Time     // arrival times over the last window, for the frame rate
	decodes   []time.Duration // recent decode times, a ring
	decodeIdx int
	lastFrame time.Time
	lastSeq   uint64
	dropped   uint64
	latencies []time.Duration // recent verdict latencies, a ring
	latIdx    int
	// The text inputs (scanners), by name, and the order they were added.
	inputs     map[string]*inputState
	inputOrder []string

	// faultMu makes evaluating health and driving the fault indication one
	// step, so the watch loop and a camera event cannot reorder them.
	faultMu  stdsync.Mutex
	fault    bool
	faultSet bool
}

const (
	rateWindow  = 5 * time.Second
	decodeRing  = 64
	frameSilent = 10 * time.Second // no frame for this long from an "up" camera is a fault
)

// CameraState is the Source's state callback.
// A change of the camera's state drives the fault indication at once rather
// than at the next health tick: after a replug the first visitor must not see
// the fault pattern come back over their green.
func (m *Monitor) CameraState(s scanner.State) {
	m.mu.Lock()
	changed := !m.camSeen || m.cam.Up != s.Up
	if s.Up && !m.cam.Up && !m.lastFrame.IsZero() {
		// The silence before an unplug is not this camera's: count afresh.
		m.lastFrame = m.now()
	}
	m.cam, m.camSeen = s, true
	m.mu.Unlock()
	if m.Meter != nil {
		m.Meter.CameraUp(s.Up)
	}
	if changed {
		m.updateFault()
	}
}

// Frame implements Observer.
func (m *Monitor) Frame(f scanner.Frame, took time.Duration, found bool) {
	now := m.now()
	m.mu.Lock()
	silent := !m.lastFrame.IsZero() && now.Sub(m.lastFrame) > frameSilent
	m.lastFrame = now
	cut := 0
	for cut < len(m.frames) && now.Sub(m.frames[cut]) > rateWindow {
		cut++
	}
	m.frames = append(m.frames[cut:], now)
	m.decodes, m.decodeIdx = ring(m.decodes, m.decodeIdx, took)
	// A gap in Seq is frames the source dropped while the lane was busy. A
	// Seq that goes back is a new source (a reload): nothing was dropped.
	var dropped uint64
	if m.lastSeq != 0 && f.Seq > m.lastSeq+1 {
		dropped = f.Seq - m.lastSeq - 1
		m.dropped += dropped
	}
	m.lastSeq = f.Seq
	if !m.camSeen {
		// A source that reports no state (a replay) is up once it delivers.
		m.cam = scanner.State{Up: true}
	}
	m.mu.Unlock()
	if silent {
		m.updateFault() // frames again after a silence: clear its fault now
	}
	if m.Preview != nil {
		m.Preview.Frame(f)
	}
	if m.Meter != nil {
		m.Meter.Frame()
		m.Meter.DecodeLatency(took)
		if dropped > 0 {
			m.Meter.FramesDropped(dropped)
		}
	}
}

// ring appends d to a ring of decodeRing durations whose oldest is at idx.
func ring(r []time.Duration, idx int, d time.Duration) ([]time.Duration, int) {
	if len(r) < decodeRing {
		return append(r, d), idx
	}
	r[idx] = d
	return r, (idx + 1) % decodeRing
}

var _ LatencyObserver = (*Monitor)(nil)

// VerdictLatency implements LatencyObserver. A text input's (AddInput)
// latency goes to that input's figures, any other to the camera's: a
// scanner's wait from the end of its read is not the camera's from capture.
func (m *Monitor) VerdictLatency(input string, d time.Duration) {
	m.mu.Lock()
	if in := m.inputs[input]; in != nil {
		in.latencies, in.latIdx = ring(in.latencies, in.latIdx, d)
	} else {
		m.latencies, m.latIdx = ring(m.latencies, m.latIdx, d)
	}
	m.mu.Unlock()
	if m.Meter != nil {
		m.Meter.VerdictLatency(input, d)
	}
}

// Verdict implements Observer.
func (m *Monitor) Verdict(v verify.Verdict) {
	if m.Meter != nil {
		m.Meter.Verdict(v.Reason.String(), v.Accept)
	}
	if m.InputMeter != nil && v.Input != "" {
		m.InputMeter.InputVerdict(v.Input, v.Reason.String(), v.Accept)
	}
	if m.OnVerdict != nil {
		m.OnVerdict(v)
	}
}

// LaneStats is what the status page shows of the lane.
type LaneStats struct {
	CameraUp     bool
	CameraDetail string
	FPS          float64
	DecodeP50    time.Duration
	LastFrame    time.Time
	// FramesDropped counts frames dropped unseen since start: while the
	// lane decodes, newer frames replace each other and only the newest
	// is decoded next.
	FramesDropped uint64
	// VerdictLatencyP50 and P95 are over the camera's recent verdicts, from
	// capture to outputs; zero before the first verdict. The scanners' are
	// in their InputStats.
	VerdictLatencyP50 time.Duration
	VerdictLatencyP95 time.Duration
}

// Stats returns the lane's current figures.
func (m *Monitor) Stats() LaneStats {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := LaneStats{CameraUp: m.cam.Up, CameraDetail: m.cam.Detail, LastFrame: m.lastFrame}
	if m.cam.Err != nil && !m.cam.Up {
		s.CameraDetail = m.cam.Err.Error()
	}
	n := 0
	for _, t := range m.frames {
		if now.Sub(t) <= rateWindow {
			n++
		}
	}
	s.FPS = float64(n) / rateWindow.Seconds()
	if len(m.decodes) > 0 {
		d := slices.Clone(m.decodes)
		slices.Sort(d)
		s.DecodeP50 = d[len(d)/2]
	}
	s.FramesDropped = m.dropped
	s.VerdictLatencyP50, s.VerdictLatencyP95 = percentiles(m.latencies)
	return s
}

// percentiles returns the p50 and p95 of a ring of latencies, zero for none.
func percentiles(r []time.Duration) (p50, p95 time.Duration) {
	if len(r) == 0 {
		return 0, 0
	}
	d := slices.Clone(r)
	slices.Sort(d)
	return d[len(d)/2], d[(len(d)*95)/100]
}

// Alive reports whether the lane is making progress, for the systemd
// watchdog: a camera that is down is being retried (restarting kioskd would
// not bring it back), but a camera that is up and delivers nothing to the
// pipeline for stallAfter means the pipeline is stuck.
func (m *Monitor) Alive(stallAfter time.Duration) bool {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.NoCamera || !m.cam.Up || m.lastFrame.IsZero() {
		return true
	}
	return now.Sub(m.lastFrame) < stallAfter
}

// Problems lists what keeps the kiosk from doing its job, one short sentence
// each; none means healthy. A stale cache or an untrusted clock is a problem
// even when the venue's policy still accepts codes: the operator must know.
func (m *Monitor) Problems() []string {
	now := m.now()
	var ps []string
	m.mu.Lock()
	cam, lastFrame := m.cam, m.lastFrame
	inputs := m.inputProblems()
	m.mu.Unlock()
	switch {
	case m.NoCamera:
	case !cam.Up:
		msg := "camera down"
		if cam.Err != nil {
			msg += ": " + cam.Err.Error()
		}
		ps = append(ps, msg)
	case !lastFrame.IsZero() && now.Sub(lastFrame) > frameSilent:
		ps = append(ps, fmt.Sprintf("camera delivered no frame for %v", now.Sub(lastFrame).Round(time.Second)))
	}
	ps = append(ps, inputs...)
	if m.Verifier != nil {
		h := m.Verifier.Health(now)
		if h.Stale {
			if h.CacheAge == 0 {
				ps = append(ps, "code cache never synced")
			} else {
				ps = append(ps, fmt.Sprintf("code cache stale (last sync %v ago)", h.CacheAge.Round(time.Minute)))
			}
		}
		if !h.ClockTrusted {
			ps = append(ps, "clock untrusted (earlier than the last trusted time)")
		}
		if r := h.Recording; r.Failing {
			// Every valid code is then refused with reason error.
			ps = append(ps, fmt.Sprintf("store cannot record verdicts: %d write(s) failed since %s, none succeeded (last: %s)",
				r.Failures, r.Since.UTC().Format(time.RFC3339), r.LastError))
		}
	}
	return ps
}

// Watch re-evaluates health every interval until ctx ends, driving the fault
// indication on the outputs when it changes, and calling onHealth (if set)
// with the result every time (the systemd watchdog and status line).
func (m *Monitor) Watch(ctx context.Context, interval time.Duration, onHealth func(problems []string)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ps := m.updateFault()
		if onHealth != nil {
			onHealth(ps)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// updateFault evaluates health and drives the fault indication if it changed.
func (m *Monitor) updateFault() []string {
	m.faultMu.Lock()
	defer m.faultMu.Unlock()
	ps := m.Problems()
	fault := len(ps) > 0
	changed := !m.faultSet || fault != m.fault
	m.fault, m.faultSet = fault, true
	if changed && m.Signal != nil {
		m.Signal.SetFault(fault)
	}
	return ps
}

func (m *Monitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}
