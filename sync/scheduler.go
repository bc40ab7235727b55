package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	stdsync "sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kioskd/kioskd/sync/bitbadges"
)

// Defaults for Scheduler.
const (
	DefaultSchedule    = "*/5 * * * *"
	DefaultMinBackoff  = 30 * time.Second // pretixSCAN's wait after a failed sync
	DefaultMaxBackoff  = 10 * time.Minute
	maxRetryAfterHonor = 24 * time.Hour
	// ClockConfirmAfter is how soon a sync follows one whose server time the
	// store held (Result.ClockHeld): until a second sync agrees, a kiosk that
	// was off for days keeps deciding at its old trusted time or its clock.
	ClockConfirmAfter = time.Minute
)

// Scheduler runs a sync at start-up, then on a cron schedule, one at a time.
type Scheduler struct {
	// Sync does one pre-fetch; usually (*Syncer).Sync.
	Sync func(context.Context) (Result, error)
	// Schedule is a robfig/cron spec (bitbadges.sync_schedule); "" = DefaultSchedule.
	Schedule string
	// MinBackoff and MaxBackoff bound the wait after failures
	// (bitbadges.max_backoff); 0 = the defaults.
	MinBackoff, MaxBackoff time.Duration
	Clock                  Clock
	Logger                 *slog.Logger
	// Rand is the jitter source; nil = math/rand/v2.
	Rand func() float64
	// OnResult, if set, hears every sync's outcome and how long it took
	// (by the wall clock), shutdown included.
	OnResult func(err error, took time.Duration)

	initOnce stdsync.Once
	trigger  chan chan error

	mu    stdsync.Mutex
	state SchedulerState
}

// SchedulerState is what the scheduler knows about its syncs.
type SchedulerState struct {
	LastAttempt   time.Time
	LastSuccess   time.Time // this process's last successful sync
	LastResult    Result    // of the last successful sync
	LastError     string    // of the last attempt, "" when it succeeded; never holds a secret
	LastErrorKind string    // ErrorKind of LastError
	Failures      int       // consecutive failed attempts
	NextSync      time.Time // while a sync runs: the next regular slot; zero only before Run
	Running       bool
}

func (s *Scheduler) init() {
	s.initOnce.Do(func() { s.trigger = make(chan chan error) })
}

func (s *Scheduler) log() *slog.Logger { return orDiscard(s.Logger) }

func (s *Scheduler) clock() Clock { return orReal(s.Clock) }

// State returns a copy of the scheduler's state.
func (s *Scheduler) State() SchedulerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// SyncNow asks the running loop for a sync now and waits for its outcome.
// A sync already under way finishes first; syncs never overlap.
func (s *Scheduler) SyncNow(ctx context.Context) error {
	s.init()
	reply := make(chan error, 1)
	select {
	case s.trigger <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrScheduleNeverFires is a sync schedule that names no time that exists
// (a 30th of February).
var ErrScheduleNeverFires = errors.New("the schedule never fires")

// Run syncs at once, then on schedule, until ctx ends (it then returns nil).
// It returns an error only for an invalid schedule.
func (s *Scheduler) Run(ctx context.Context) error {
	s.init()
	spec := s.Schedule
	if spec == "" {
		spec = DefaultSchedule
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("sync schedule %q: %w", spec, err)
	}
	clk := s.clock()
	// A valid spec may never fire ("0 0 30 2 *"): cron then answers the
	// zero time, which as a wait is "now", and the loop would sync back to
	// back, spending API credits without end.
	if sched.Next(clk.Now()).IsZero() {
		return fmt.Errorf("sync schedule %q: %w", spec, ErrScheduleNeverFires)
	}
	next := clk.Now() // the start-up sync
	for {
		s.mu.Lock()
		s.state.NextSync = next
		s.mu.Unlock()
		timer, stop := clk.Timer(max(0, next.Sub(clk.Now())))
		var reply chan error
		select {
		case <-ctx.Done():
			stop()
			return nil
		case <-timer:
		case reply = <-s.trigger:
			stop()
		}
		err := s.runOnce(ctx, sched)
		if reply != nil {
			reply <- err
		}
		if ctx.Err() != nil {
			return nil
		}
		next = s.plan(clk.Now(), err, sched)
	}
}

func (s *Scheduler) runOnce(ctx context.Context, sched cron.Schedule) error {
	clk := s.clock()
	s.mu.Lock()
	s.state.Running = true
	// Not zero while it runs (status would show "0001-01-01"): the next
	// regular slot, which is when the next sync starts if this one succeeds.
	s.state.NextSync = sched.Next(clk.Now())
	s.state.LastAttempt = clk.Now()
	s.mu.Unlock()

	t0 := time.Now()
	res, err := s.Sync(ctx)
	if s.OnResult != nil {
		s.OnResult(err, time.Since(t0))
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Running = false
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return err // shutting down: not a failure worth counting
		}
		s.state.Failures++
		s.state.LastError = err.Error()
		s.state.LastErrorKind = ErrorKind(err)
		return err
	}
	s.state.Failures = 0
	s.state.LastError, s.state.LastErrorKind = "", ""
	s.state.LastSuccess = clk.Now()
	s.state.LastResult = res
	return nil
}

// plan picks the next attempt's time after an attempt ending at now.
func (s *Scheduler) plan(now time.Time, err error, sched cron.Schedule) time.Time {
	st := s.State()
	if err == nil {
		next := sched.Next(now)
		if st.LastResult.ClockHeld && next.After(now.Add(ClockConfirmAfter)) {
			next = now.Add(ClockConfirmAfter)
			s.log().Warn("sync: the server's time is far ahead of the trusted time; confirming it with another sync",
				"server_time", st.LastResult.ServerTime, "next", next)
		}
		s.log().Info("sync: done", "codes", st.LastResult.Codes, "took", st.LastResult.Duration, "next", next)
		return next
	}
	if errors.Is(err, ErrHeldBack) {
		// Not a failure to back off from: the server answered in full, and
		// the next regular sync sees whether it still says so.
		next := sched.Next(now)
		s.log().Warn("sync: snapshot held back, old cache kept", "err", err, "next", next)
		return next
	}
	maxB := s.MaxBackoff
	if maxB <= 0 {
		maxB = DefaultMaxBackoff
	}
	minB := s.MinBackoff
	if minB <= 0 {
		minB = DefaultMinBackoff
	}
	d := backoffPolicy(minB, maxB, s.Rand).Delay(st.Failures)
	if needsHuman(err) {
		// Hammering a 401 or 402 helps no one and costs credits.
		d = maxB
	}
	// A server that says when to come back (429, or 503 with Retry-After)
	// is believed, even past MaxBackoff (up to a day).
	if ra, ok := bitbadges.RetryAfter(err); ok {
		d = max(d, min(ra, maxRetryAfterHonor))
	}
	next := now.Add(d)
	s.log().Warn("sync: failed, old cache kept", "kind", ErrorKind(err), "err", err,
		"failures", st.Failures, "retry_in", d)
	return next
}
