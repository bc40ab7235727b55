package gpio

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// How long Test holds each output on, and the pause before the next one.
const (
	testOn  = time.Second
	testGap = 500 * time.Millisecond
)

// Test is `kioskd gpio test`: it brings every configured output to its
// inactive level, then switches each one on for a second and off again,
// printing a line per step, so an installer can check the wiring (the relay
// clicks, the door strike opens: stand by the door). Input changes (press
// the exit button, open the door) are printed as they happen while it runs.
// Every output is back at its inactive level and released when Test returns,
// also when ctx is cancelled.
func Test(ctx context.Context, cfg Config, o Options, out io.Writer) error {
	drv, err := openDriver(cfg, o)
	if err != nil {
		return err
	}
	if drv == nil {
		_, err := fmt.Fprintln(out, "gpio.driver is none: no lines to test")
		return err
	}
	lines, err := openOutputs(drv, cfg)
	if err != nil {
		return err
	}
	var mu sync.Mutex // out is shared with the input watchers
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}
	say("all outputs requested at their inactive level")

	ins, err := openInputs(drv, cfg)
	if err != nil {
		return errJoin(err, releaseLines(lines))
	}
	inCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	for _, w := range ins {
		w.emit = func(ev InputEvent) { say("input  %-12s %-14s %s", ev.Kind, ev.Line, ev) }
		say("input  %-12s %-14s watching: press it / open the door to check", w.kind, w.in.Name())
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(inCtx, o.logger())
		}()
	}

	for _, r := range []role{roleAcceptLED, roleRejectLED, roleBuzzer, roleRelay} {
		l := lines[r]
		if l == nil {
			continue
		}
		say("output %-12s %-14s ON  (%s)", r.key(), l.Name(), levelWord(l, true))
		if err = l.Set(true); err == nil {
			err = sleep(ctx, testOn)
		}
		say("output %-12s %-14s OFF (%s)", r.key(), l.Name(), levelWord(l, false))
		if e := l.Set(false); err == nil {
			err = e
		}
		if err == nil {
			err = sleep(ctx, testGap)
		}
		if err != nil {
			break
		}
	}
	if rerr := releaseLines(lines); err == nil {
		err = rerr
	}
	if err == nil {
		say("done: every output back at its inactive level")
	}
	return err
}

// levelWord says the physical level an installer measures with a meter.
func levelWord(l Line, active bool) string {
	high := active
	if ll, ok := l.(line); ok && ll.activeLow {
		high = !active
	}
	if high {
		return "pin high"
	}
	return "pin low"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func errJoin(a, b error) error {
	if b == nil {
		return a
	}
	return fmt.Errorf("%w (and releasing: %v)", a, b)
}

// Release is `kioskd gpio release`: it requests every configured output at
// its inactive level and releases it again, for systemd's ExecStopPost, so
// a relay is not left energised by a kioskd that was killed during a pulse.
// It fails with a busy line while kioskd (or anything else) holds it.
func Release(cfg Config, o Options) error {
	drv, err := openDriver(cfg, o)
	if err != nil || drv == nil {
		return err
	}
	lines, err := openOutputs(drv, cfg)
	if err != nil {
		return err
	}
	return releaseLines(lines)
}
