package cdev

import (
	"context"
	"fmt"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// Pull is an input's internal bias.
type Pull uint8

const (
	PullNone Pull = iota // leave the bias as it is (external resistors)
	PullUp
	PullDown
)

func (p Pull) periph() gpio.Pull {
	switch p {
	case PullUp:
		return gpio.PullUp
	case PullDown:
		return gpio.PullDown
	}
	return gpio.PullNoChange
}

// pollEvery is how often a line without edge interrupts is sampled, and the
// longest a Wait blocks in the kernel before it looks at its context again.
const (
	pollEvery = 10 * time.Millisecond
	waitSlice = 200 * time.Millisecond
)

// Input is a requested input line.
type Input struct {
	ref   Ref
	line  *gpioioctl.GPIOLine
	edges bool // false: the chip gave no edge events, Wait polls
	name  string
}

// RequestInput requests the line as an input with both-edge events, or
// without them (polled) where the chip cannot give them.
func (c *Chips) RequestInput(r Ref, pull Pull) (*Input, error) {
	if r.line == nil {
		return nil, fmt.Errorf("%w: %s", ErrLineNotFound, r)
	}
	in := &Input{ref: r, line: r.line, edges: true, name: r.spec}
	if err := r.line.In(pull.periph(), gpio.BothEdges); err != nil {
		if e := busyErr(r, err); strings.Contains(e.Error(), ErrBusy.Error()) {
			r.line.Close()
			return nil, e
		}
		in.edges = false
		if err := r.line.In(pull.periph(), gpio.NoEdge); err != nil {
			r.line.Close()
			return nil, busyErr(r, err)
		}
	}
	return in, nil
}

// Name is the line as configured.
func (in *Input) Name() string { return in.name }

// Edges reports whether the line gives edge events (false: it is polled).
func (in *Input) Edges() bool { return in.edges }

// Read returns the physical level (an input: reading it changes nothing).
func (in *Input) Read() (bool, error) { return bool(in.line.Read()), nil }

// Wait blocks until an edge, d elapsed or ctx done; it returns early (no
// edge) at least every 200ms so a cancelled context is seen promptly.
func (in *Input) Wait(ctx context.Context, d time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !in.edges {
		if d <= 0 || d > pollEvery {
			d = pollEvery
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if d <= 0 || d > waitSlice {
		d = waitSlice
	}
	start := time.Now()
	if in.line.WaitForEdge(d) {
		return true, nil
	}
	// periph reports a failed read like a timeout; one that returns at once
	// must not turn the caller's loop into a busy spin.
	if early := d - time.Since(start); early > pollEvery {
		time.Sleep(pollEvery)
	}
	return false, nil
}

// Close releases the line.
func (in *Input) Close() error {
	in.line.Close()
	return nil
}
