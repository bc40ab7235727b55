package gpio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kioskd/kioskd/gpio/gpiosim"
)

// Options are Open's and Test's dependencies.
type Options struct {
	// Logger; nil discards.
	Logger *slog.Logger
	// Sim is the recorder the sim driver writes to; nil makes one that logs
	// every transition.
	Sim *gpiosim.Recorder
	// OnInput receives debounced input events (exit button, door contact),
	// one at a time, in order, from a goroutine of its own: a slow or stuck
	// OnInput never delays the inputs themselves (an exit-button press still
	// opens the door); past 64 events waiting, new ones are dropped and
	// logged. It must not call Close, which waits for it to return.
	OnInput func(InputEvent)
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Outputs is the running GPIO side of a kiosk; it implements Signal.
//
// One goroutine owns every output line and every timer: Show and SetFault
// only leave a request and wake it, so they never block on the hardware,
// and a relay pulse ends on time whatever the caller does next.
type Outputs struct {
	log     *slog.Logger
	lines   [numRoles]Line // nil where not configured
	onInput func(InputEvent)

	mu      sync.Mutex
	pending request
	status  Status        // published by the owning goroutine
	wake    chan struct{} // capacity 1: "pending has something"

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{} // closed once every output is released
	err      error         // the release's result, set before done closes

	stopInputs context.CancelFunc
	inputs     sync.WaitGroup // the input watchers
	events     chan InputEvent
	dispatch   sync.WaitGroup // the goroutine calling onInput
}

// pendingEvents is how many input events may wait for a slow OnInput.
const pendingEvents = 64

// request is what callers asked for since the goroutine last looked. The
// pattern is latest-wins; an accept's relay pulse and the fault state are
// never lost to a later request.
type request struct {
	show     bool
	pattern  Pattern
	pulse    bool // an Accept or an exit-button press
	faultSet bool
	fault    bool
}

var _ Signal = (*Outputs)(nil)

// Open requests the configured lines and starts the goroutine that owns them.
//
// The very first hardware action is to bring every configured output to its
// inactive level: each is requested already at that level, all of them
// before any input is requested and before anything is shown. Open then
// shows Starting until the caller's first Show (call Show(Idle) once the
// kiosk is ready).
//
// The outputs are released (every line at its inactive level, then closed)
// on Close or when ctx is done, whichever comes first.
func Open(ctx context.Context, cfg Config, o Options) (*Outputs, error) {
	log := o.logger().With("component", "gpio")
	drv, err := openDriver(cfg, o)
	if err != nil {
		return nil, err
	}
	out := &Outputs{
		log:     log,
		onInput: o.OnInput,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if drv != nil {
		if out.lines, err = openOutputs(drv, cfg); err != nil {
			return nil, err
		}
	}
	st := state{acceptFor: cfg.AcceptFor, rejectFor: cfg.RejectFor, pattern: Idle}
	if cfg.Relay != nil {
		st.pulse = cfg.Relay.Pulse
		st.failSafe = cfg.Relay.FailMode == "safe"
	}

	if drv == nil && (cfg.ExitButton != nil || cfg.DoorContact != nil) {
		log.Warn("gpio.driver is none: gpio.exit_button and gpio.door_contact are not watched")
	}
	inCtx, cancel := context.WithCancel(ctx)
	out.stopInputs = cancel
	if drv != nil {
		ins, err := openInputs(drv, cfg)
		if err != nil {
			cancel()
			releaseLines(out.lines)
			return nil, err
		}
		if len(ins) > 0 && out.onInput != nil {
			out.events = make(chan InputEvent, pendingEvents)
			out.dispatch.Add(1)
			go func() {
				defer out.dispatch.Done()
				out.deliver(inCtx)
			}()
		}
		for _, w := range ins {
			w.emit = out.input
			out.inputs.Add(1)
			go func() {
				defer out.inputs.Done()
				w.run(inCtx, log)
			}()
		}
	}
	out.status = Status{Lines: out.describe(), Pattern: Idle}
	log.Info("gpio ready", "driver", cfg.Driver, "outputs", out.describe())
	out.Show(Starting)
	go out.run(ctx, st)
	return out, nil
}

// openOutputs requests every configured output at its inactive level; on
// failure the ones already requested are released (they are at their
// inactive level) and the error names the config key.
func openOutputs(drv Driver, cfg Config) ([numRoles]Line, error) {
	var lines [numRoles]Line
	cfgs := [numRoles]*LineConfig{cfg.AcceptLED, cfg.RejectLED, cfg.Buzzer, nil}
	if cfg.Relay != nil {
		cfgs[roleRelay] = &cfg.Relay.LineConfig
	}
	// The relay first: it is the one whose state matters most at boot.
	for _, r := range []role{roleRelay, roleAcceptLED, roleRejectLED, roleBuzzer} {
		c := cfgs[r]
		if c == nil {
			continue
		}
		p, err := drv.Output("gpio."+r.key(), *c, r.key(), c.ActiveLow) // inactive: high iff active-low
		if err != nil {
			releaseLines(lines)
			return lines, err
		}
		lines[r] = line{p: p, activeLow: c.ActiveLow}
	}
	return lines, nil
}

// releaseLines drives every line inactive and closes it.
func releaseLines(lines [numRoles]Line) error {
	var errs []error
	for r, l := range lines {
		if l == nil {
			continue
		}
		if err := l.Set(false); err != nil {
			errs = append(errs, fmt.Errorf("gpio.%s: driving inactive: %w", role(r).key(), err))
		}
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("gpio.%s: %w", role(r).key(), err))
		}
	}
	return errors.Join(errs...)
}

func (o *Outputs) describe() []string {
	var s []string
	for r, l := range o.lines {
		if l != nil {
			s = append(s, role(r).key()+"="+l.Name())
		}
	}
	return s
}

// Show starts a pattern; see Signal. It never blocks.
func (o *Outputs) Show(p Pattern) {
	o.mu.Lock()
	o.pending.show, o.pending.pattern = true, p
	if p == Accept {
		o.pending.pulse = true
	}
	o.mu.Unlock()
	o.poke()
}

// SetFault turns the standing fault indication on or off; see Signal. With
// gpio.relay.fail_mode safe, the relay is energised while the fault is on.
func (o *Outputs) SetFault(on bool) {
	o.mu.Lock()
	o.pending.faultSet, o.pending.fault = true, on
	o.mu.Unlock()
	o.poke()
}

// input is called by the input watchers: an exit-button press opens the
// door (that is what a request-to-exit is for), then the event goes to the
// caller.
func (o *Outputs) input(ev InputEvent) {
	if ev.Kind == ExitButton && ev.Active {
		o.mu.Lock()
		o.pending.pulse = true
		o.mu.Unlock()
		o.poke()
	}
	o.log.Info("gpio input", "input", ev.Kind.String(), "line", ev.Line, "active", ev.Active)
	if o.events == nil {
		return
	}
	select {
	case o.events <- ev:
	default:
		o.log.Warn("gpio input event dropped: OnInput is not keeping up", "input", ev.Kind.String(), "active", ev.Active)
	}
}

// deliver calls OnInput for each event until the events channel is closed
// (Close) or ctx is done; either way the events already queued are
// delivered first (a door opened just before shutdown is still recorded).
func (o *Outputs) deliver(ctx context.Context) {
	stopping := false
	for {
		var ev InputEvent
		ok := true
		if stopping {
			select {
			case ev, ok = <-o.events:
			default:
				return // nothing queued any more
			}
		} else {
			select {
			case ev, ok = <-o.events:
			case <-ctx.Done():
				stopping = true
				continue
			}
		}
		if !ok {
			return // closed by Close
		}
		o.onInput(ev)
	}
}

func (o *Outputs) poke() {
	select {
	case o.wake <- struct{}{}:
	default: // already awake or about to be: it reads pending
	}
}

// Close releases every output (inactive level written, then the line
// closed), stops the inputs and returns once all of that is done. It is safe
// to call more than once and after ctx is done.
func (o *Outputs) Close() error {
	o.stopOnce.Do(func() {
		close(o.stop)
		<-o.done
		o.stopInputs()
		o.inputs.Wait()
		if o.events != nil {
			close(o.events) // no watcher is left to send
		}
	})
	<-o.done
	o.dispatch.Wait()
	return o.err
}

// Done is closed once every output has been driven inactive and released
// (after Close, or after Open's context is done).
func (o *Outputs) Done() <-chan struct{} { return o.done }

// run is the goroutine that owns the outputs.
func (o *Outputs) run(ctx context.Context, st state) {
	defer close(o.done)
	var written, known [numRoles]bool // known: written holds what the line is at
	for r := range o.lines {
		known[r] = true // requested at the inactive level
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		now := time.Now()
		lv, next := st.levels(now)
		failed, relayOn := o.apply(lv, &written, &known)
		if !relayOn.IsZero() && now.Before(st.relayUntil) {
			// The door's time counts from when the line was set, not from
			// the decision: a slow write must not shorten the pulse.
			st.pulseRelay(relayOn)
			_, next = st.levels(relayOn)
		}
		if failed {
			if retry := now.Add(retryInterval); next.IsZero() || retry.Before(next) {
				next = retry
			}
		}
		o.publish(func(s *Status) {
			s.Pattern, s.Fault = st.pattern, st.fault
			s.Relay = o.lines[roleRelay] != nil && known[roleRelay] && written[roleRelay]
			if failed {
				s.WriteErrors++
			}
		})
		if !next.IsZero() {
			// From the time after the writes, which may have taken a while.
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			o.err = o.release()
			return
		case <-o.stop:
			o.err = o.release()
			return
		case <-o.wake:
			o.take(&st, time.Now())
		case <-timer.C:
		}
		timer.Stop()
	}
}

// take applies the pending request to the state.
func (o *Outputs) take(st *state, now time.Time) {
	o.mu.Lock()
	req := o.pending
	o.pending = request{}
	o.mu.Unlock()
	if req.faultSet && req.fault != st.fault {
		o.log.Info("gpio fault indication", "on", req.fault)
		st.setFault(req.fault, now)
	}
	if req.pulse && o.lines[roleRelay] != nil {
		st.pulseRelay(now)
	}
	if req.show {
		st.showPattern(req.pattern, now)
	}
}

// applyOrder writes the relay first: it is what the visitor waits for, and
// its pulse is timed from its own write.
var applyOrder = [numRoles]role{roleRelay, roleAcceptLED, roleRejectLED, roleBuzzer}

// apply writes the levels that differ from what the lines are at. It reports
// whether a write failed (to be retried soon), and when the relay was
// energised by this call (zero if it was not).
func (o *Outputs) apply(lv [numRoles]bool, written, known *[numRoles]bool) (failed bool, relayOn time.Time) {
	for _, r := range applyOrder {
		l := o.lines[r]
		if l == nil || (known[r] && written[r] == lv[r]) {
			continue
		}
		if err := l.Set(lv[r]); err != nil {
			known[r] = false
			failed = true
			o.log.Error("gpio write failed", "output", role(r).key(), "line", l.Name(), "active", lv[r], "err", err)
			continue
		}
		written[r], known[r] = lv[r], true
		if r == roleRelay {
			if lv[r] {
				relayOn = time.Now()
			}
			o.log.Info("relay", "energised", lv[r])
		}
	}
	return failed, relayOn
}

// Status is a snapshot of the outputs, for the status page and logs.
type Status struct {
	Lines   []string // "relay=GPIO17", in config order
	Pattern Pattern  // showing now
	Fault   bool     // standing fault indication on
	Relay   bool     // energised now (door unlocked)
	// WriteErrors counts wake-ups where a line write failed (retried).
	WriteErrors uint64
	Released    bool // every output released (after Close or cancel)
}

func (s Status) String() string {
	var b strings.Builder
	b.WriteString(strings.Join(s.Lines, ", "))
	if len(s.Lines) == 0 {
		b.WriteString("no outputs")
	}
	fmt.Fprintf(&b, "; %s", s.Pattern)
	if s.Relay {
		b.WriteString("; relay energised")
	}
	if s.Fault {
		b.WriteString("; fault indicated")
	}
	if s.WriteErrors > 0 {
		fmt.Fprintf(&b, "; %d failed writes", s.WriteErrors)
	}
	if s.Released {
		b.WriteString("; released")
	}
	return b.String()
}

// Status returns the latest snapshot. It never blocks on the hardware.
func (o *Outputs) Status() Status {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.status
	s.Lines = slices.Clone(s.Lines)
	return s
}

func (o *Outputs) publish(f func(*Status)) {
	o.mu.Lock()
	f(&o.status)
	o.mu.Unlock()
}

// release drives every output inactive and closes it. In fail_mode safe too:
// once kioskd is gone nothing guarantees what a released line does, so
// egress at power loss or crash is the lock hardware's job (see doc.go).
func (o *Outputs) release() error {
	err := releaseLines(o.lines)
	o.publish(func(s *Status) { s.Released, s.Relay, s.Pattern = true, false, Idle })
	if err != nil {
		o.log.Error("gpio release", "err", err)
	} else {
		o.log.Info("gpio released: every output at its inactive level")
	}
	return err
}
