package kiosk

import (
	"slices"
	"time"

	"github.com/kioskd/kioskd/scanner"
)

// InputMeter receives the text inputs' measurements, each named by its input.
type InputMeter interface {
	InputUp(name string, up bool)
	InputRead(name string)
	InputVerdict(name, reason string, accept bool)
}

// InputStats is what the status page shows of one text input.
type InputStats struct {
	Name, Kind string
	Up         bool
	Detail     string
	Reads      uint64
	LastRead   time.Time
	// VerdictLatencyP50 and P95 are over the input's recent verdicts, from
	// the end of the read to the outputs; zero before the first.
	VerdictLatencyP50, VerdictLatencyP95 time.Duration
}

type inputState struct {
	InputStats
	seen      bool
	latencies []time.Duration // recent verdict latencies, a ring
	latIdx    int
}

// The text inputs (scanners, issue 20): each is declared, then its state
// changes and reads arrive from its lane; a scanner that is away is a
// problem naming it, and drives the fault pattern like a lost camera.

// AddInput declares a text input before it runs, so its state shows (as
// not yet open) from the start. kind is what it is ("hid", "serial").
func (m *Monitor) AddInput(name, kind, detail string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inputs == nil {
		m.inputs = map[string]*inputState{}
	}
	m.inputs[name] = &inputState{InputStats: InputStats{Name: name, Kind: kind, Detail: detail}}
	m.inputOrder = append(m.inputOrder, name)
}

// InputState is a text input's state callback. As with the camera, a change
// drives the fault indication at once.
func (m *Monitor) InputState(name string, s scanner.State) {
	m.mu.Lock()
	in := m.inputs[name]
	if in == nil {
		m.mu.Unlock()
		return
	}
	changed := !in.seen || in.Up != s.Up
	in.Up, in.Detail, in.seen = s.Up, s.Detail, true
	m.mu.Unlock()
	if m.InputMeter != nil {
		m.InputMeter.InputUp(name, s.Up)
	}
	if changed {
		m.updateFault()
	}
}

// InputRead notes one read from a text input.
func (m *Monitor) InputRead(name string, at time.Time) {
	m.mu.Lock()
	if in := m.inputs[name]; in != nil {
		in.Reads++
		in.LastRead = at
	}
	m.mu.Unlock()
	if m.InputMeter != nil {
		m.InputMeter.InputRead(name)
	}
}

// Inputs returns the text inputs' figures, in the order they were added.
func (m *Monitor) Inputs() []InputStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]InputStats, 0, len(m.inputOrder))
	for _, n := range m.inputOrder {
		in := m.inputs[n]
		st := in.InputStats
		st.VerdictLatencyP50, st.VerdictLatencyP95 = percentiles(in.latencies)
		out = append(out, st)
	}
	return out
}

// inputProblems lists the text inputs that are down (or not yet open),
// one sentence each, in a stable order. Called with m.mu held.
func (m *Monitor) inputProblems() []string {
	var ps []string
	for _, n := range slices.Clone(m.inputOrder) {
		in := m.inputs[n]
		switch {
		case !in.seen:
			ps = append(ps, "input "+n+" ("+in.Kind+") not open yet")
		case !in.Up:
			ps = append(ps, "input "+n+" ("+in.Kind+") down: "+in.Detail)
		}
	}
	return ps
}
