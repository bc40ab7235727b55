package desk

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/verify"
)

// Staff is one named token.
type Staff struct {
	Name  string
	Token string
}

// Checker decides on a presented text as a scan does.
type Checker interface {
	Check(ctx context.Context, text string) verify.Verdict
}

// Opener opens the door on purpose.
type Opener interface {
	// ManualOpen records the opening (who, why) durably and then opens the
	// door. An error means it was not recorded and the door stays shut.
	ManualOpen(ctx context.Context, staff, reason string) error
}

// Options configure a Desk.
type Options struct {
	Staff   []Staff
	Checker Checker
	Opener  Opener
	// CheckIn says the Checker redeems (the page says "checked in") rather
	// than only looks (a dry run: "valid, not checked in").
	CheckIn bool
	// MaxOpens manual opens are allowed per OpenWindow, all staff together
	// (defaults 5 per minute).
	MaxOpens   int
	OpenWindow time.Duration
	// Location is the zone times are said in (time.Local when nil).
	Location *time.Location
	Logger   *slog.Logger
	Now      func() time.Time // nil: time.Now
}

// Desk serves the staff desk (Handler).
type Desk struct {
	o     Options
	log   *slog.Logger
	staff []staffHash

	mu    sync.Mutex
	opens []time.Time // manual opens within the window, oldest first

	checks, opened, limited, failed, refused atomic.Uint64
}

// Stats are the desk's counts since it was made, for metrics.
type Stats struct {
	Checks uint64 // codes checked
	// Opened manual opens; RateLimited refused as too many; NotRecorded
	// failed to record (the door stayed shut).
	Opened, RateLimited, NotRecorded uint64
	// Refused requests: without a valid staff token, or cross-site.
	Refused uint64
}

// Stats returns the counts so far.
func (d *Desk) Stats() Stats {
	return Stats{Checks: d.checks.Load(), Opened: d.opened.Load(), RateLimited: d.limited.Load(),
		NotRecorded: d.failed.Load(), Refused: d.refused.Load()}
}

type staffHash struct {
	name string
	sum  [32]byte
}

// New returns a Desk. It needs at least one staff token, a Checker and an
// Opener.
func New(o Options) (*Desk, error) {
	if len(o.Staff) == 0 {
		return nil, errors.New("desk: no staff token")
	}
	if o.Checker == nil || o.Opener == nil {
		return nil, errors.New("desk: a Checker and an Opener are needed")
	}
	if o.MaxOpens <= 0 {
		o.MaxOpens = 5
	}
	if o.OpenWindow <= 0 {
		o.OpenWindow = time.Minute
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Desk{o: o, log: log}
	for _, s := range o.Staff {
		if s.Name == "" || s.Token == "" {
			return nil, errors.New("desk: a staff entry without a name or a token")
		}
		d.staff = append(d.staff, staffHash{name: s.Name, sum: sha256.Sum256([]byte(s.Token))})
	}
	return d, nil
}

// who returns the staff name whose token this is ("" for none). Every
// token is compared, by hash, in constant time: neither the time taken nor
// an early return tells how close a guess was, or whose it nearly was.
func (d *Desk) who(token string) string {
	if token == "" {
		return ""
	}
	got := sha256.Sum256([]byte(token))
	found := -1
	for i, s := range d.staff {
		if subtle.ConstantTimeCompare(got[:], s.sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return ""
	}
	return d.staff[found].name
}

// allowOpen takes one manual open from the window's allowance, or reports
// how long until one is free again.
func (d *Desk) allowOpen() (bool, time.Duration) {
	now := d.o.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	cut := 0
	for cut < len(d.opens) && now.Sub(d.opens[cut]) >= d.o.OpenWindow {
		cut++
	}
	d.opens = d.opens[cut:]
	if len(d.opens) >= d.o.MaxOpens {
		return false, d.o.OpenWindow - now.Sub(d.opens[0])
	}
	d.opens = append(d.opens, now)
	return true, 0
}

// giveBack returns an allowance taken for an open that did not happen.
func (d *Desk) giveBack() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.opens) > 0 {
		d.opens = d.opens[:len(d.opens)-1]
	}
}

// Reason bounds: a word or two at least, a sentence at most.
const (
	minReason = 3
	maxReason = 200
)

// cleanReason is a staff member's reason fit for an event and a log line:
// one line, trimmed, at most maxReason characters.
func cleanReason(s string) (string, bool) {
	s = strings.Join(strings.Fields(status.OneLine(s)), " ")
	n := utf8.RuneCountInString(s)
	return s, n >= minReason && n <= maxReason
}
