package sync

import (
	"log/slog"
	"time"
)

// Clock is time as the loops see it. Tests substitute a fake so that
// backoff and schedules are checked without sleeping.
type Clock interface {
	Now() time.Time
	// Timer fires once after d; stop releases it early.
	Timer(d time.Duration) (c <-chan time.Time, stop func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Timer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// orReal is c, or the wall clock when c is nil.
func orReal(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}

// orDiscard is l, or a logger that drops everything when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
