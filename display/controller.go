package display

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	retry "github.com/kioskd/kioskd/internal/backoff"

	"github.com/kioskd/kioskd/display/authsignal"
)

// Sink is what an approval or a refusal does at the door. kioskd's
// implementation records an event with the user id and then shows
// gpio.Accept (relay pulse, green) on Approved, and shows gpio.Reject on
// Rejected. An error from Approved means the door stayed shut: the screen
// shows Declined, not Welcome. Both are called from Run's goroutine and
// should return quickly.
type Sink interface {
	// Approved: userID was validated for the configured action. Let them in.
	Approved(ctx context.Context, userID string) error
	// Rejected: the visitor declined on the phone, or the approval was refused.
	Rejected(ctx context.Context, reason Reason) error
}

// Reason is why a display sign-in did not let anyone in.
type Reason uint8

const (
	ReasonDeclined     Reason = iota // the user declined on the phone
	ReasonNotSucceeded               // /validate did not say CHALLENGE_SUCCEEDED (or the token was rejected)
	ReasonWrongAction                // the approval was for another action
	ReasonReplay                     // the approval's idempotency key was used before
	ReasonError                      // the approval could not be validated (API unreachable)
)

func (r Reason) String() string {
	switch r {
	case ReasonDeclined:
		return "declined"
	case ReasonNotSucceeded:
		return "not-succeeded"
	case ReasonWrongAction:
		return "wrong-action"
	case ReasonReplay:
		return "replay"
	case ReasonError:
		return "error"
	}
	return "invalid"
}

func reasonOf(err error) Reason {
	switch {
	case errors.Is(err, authsignal.ErrReplay):
		return ReasonReplay
	case errors.Is(err, authsignal.ErrWrongAction):
		return ReasonWrongAction
	case errors.Is(err, authsignal.ErrRefused):
		return ReasonNotSucceeded
	}
	return ReasonError
}

// Options configures a Controller. Zero durations take their defaults.
type Options struct {
	Client *authsignal.Client // required
	Sink   Sink               // required
	Logger *slog.Logger       // nil: discard
	// Custom is shown to the user on the phone, e.g. {"terminal": "door-3"}.
	Custom map[string]string
	// PollInterval between state polls; default 1.5 s.
	PollInterval time.Duration
	// Refresh replaces an unclaimed challenge after this long; default 9 min
	// (challenges live 10).
	Refresh time.Duration
	// Hold is how long Welcome or Declined stays up; default 4 s.
	Hold time.Duration
	// OfflineAfter failed polls in a row switch the screen to Unavailable;
	// default 3 (about 5 s at the default interval).
	OfflineAfter int
	// MaxBackoff caps the wait between attempts while offline; default 30 s.
	MaxBackoff time.Duration
}

// Controller runs the display sign-in: see the package comment.
type Controller struct {
	client       *authsignal.Client
	sink         Sink
	log          *slog.Logger
	custom       map[string]string
	poll         time.Duration
	refresh      time.Duration
	hold         time.Duration
	offlineAfter int
	maxBackoff   time.Duration

	board   *board
	running atomic.Bool
	stopped chan struct{} // closed when Run returns: ends the page's streams
	offline bool          // Run's goroutine only: last logged availability
}

// New checks o and returns a Controller; call Run to start it.
func New(o Options) (*Controller, error) {
	if o.Client == nil {
		return nil, errors.New("display: no Authsignal client")
	}
	if o.Sink == nil {
		return nil, errors.New("display: no sink")
	}
	c := &Controller{
		client: o.Client, sink: o.Sink, log: o.Logger, custom: o.Custom,
		poll: o.PollInterval, refresh: o.Refresh, hold: o.Hold,
		offlineAfter: o.OfflineAfter, maxBackoff: o.MaxBackoff,
		board: newBoard(), stopped: make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "display")
	if c.poll <= 0 {
		c.poll = 1500 * time.Millisecond
	}
	if c.refresh <= 0 {
		c.refresh = 9 * time.Minute
	}
	if c.hold <= 0 {
		c.hold = 4 * time.Second
	}
	if c.offlineAfter <= 0 {
		c.offlineAfter = 3
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = 30 * time.Second
	}
	return c, nil
}

// Screen returns what the screen shows now.
func (c *Controller) Screen() Screen {
	s, _ := c.board.get()
	return s
}

// Run shows challenges until ctx ends, then returns nil. It never gives up on
// errors: offline it says so on the screen and retries with backoff. Run may
// be called only once.
func (c *Controller) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("display: Run called twice")
	}
	defer close(c.stopped)
	fail := 0
	for ctx.Err() == nil {
		ch, err := c.client.CreateChallenge(ctx, c.custom)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.setOffline(err)
			fail++
			if !sleep(ctx, backoff(time.Second, c.maxBackoff, fail, err)) {
				break
			}
			continue
		}
		fail = 0
		c.setOnline()
		c.watch(ctx, ch)
	}
	return nil
}

// watch shows one challenge until it is decided, replaced or expired.
func (c *Controller) watch(ctx context.Context, ch authsignal.Challenge) {
	log := c.log.With("challenge", shortHash(ch.ID))
	svg, err := renderQR(ch.ID)
	if err != nil {
		// A challenge id the encoder refuses: skip it, a new one follows.
		log.Error("cannot render challenge as QR", "err", err)
		c.board.set(Unavailable, "")
		sleep(ctx, c.poll)
		return
	}
	// Deadlines on the monotonic clock, from now: the server's expiresAt only
	// shortens the lifetime, and only when the wall clock agrees with it.
	created := time.Now()
	life := authsignal.ChallengeLifetime
	if d := time.Until(ch.ExpiresAt); d > 0 && d < life {
		life = d
	}
	expire := created.Add(life - c.poll) // never poll an expired challenge
	refresh := created.Add(c.refresh)
	if refresh.After(expire) {
		refresh = expire
	}
	c.board.set(Scan, svg)
	log.Debug("showing challenge", "expires_in", life)

	claimed := false
	fails := 0
	for {
		wait := c.poll
		if fails > 0 {
			wait = backoff(c.poll, min(c.maxBackoff, 10*time.Second), fails, nil)
		}
		if !sleep(ctx, wait) {
			return
		}
		now := time.Now()
		if !now.Before(expire) || (!claimed && !now.Before(refresh)) {
			log.Debug("replacing challenge", "claimed", claimed)
			return
		}
		st, err := c.client.Poll(ctx, ch)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, authsignal.ErrChallengeGone) {
				log.Info("challenge gone, creating a new one", "err", err)
				return
			}
			fails++
			if fails >= c.offlineAfter || errors.Is(err, authsignal.ErrUnauthorized) {
				c.setOffline(err)
			} else {
				log.Debug("poll failed", "err", err, "fails", fails)
			}
			continue
		}
		if c.offline {
			c.setOnline()
			if claimed {
				c.board.set(CheckPhone, "")
			} else {
				c.board.set(Scan, svg)
			}
		}
		fails = 0
		switch st.State {
		case authsignal.Claimed:
			if !claimed {
				claimed = true
				log.Info("challenge claimed")
				c.board.set(CheckPhone, "")
			}
		case authsignal.Rejected:
			log.Info("declined on the phone")
			c.reject(ctx, ReasonDeclined)
			return
		case authsignal.Approved:
			c.approve(ctx, log, st.Token)
			return
		}
	}
}

// approve validates the token and lets the user in, or refuses.
func (c *Controller) approve(ctx context.Context, log *slog.Logger, tok authsignal.Token) {
	if cur, _ := c.board.get(); cur.State != CheckPhone {
		c.board.set(CheckPhone, "")
	}
	var a authsignal.Approval
	var err error
	// A few quick retries: the user is standing there, and the token lives
	// ten minutes, but nobody waits that long at a door.
	for try := 1; ; try++ {
		a, err = c.client.Validate(ctx, tok)
		if err == nil || !authsignal.Temporary(err) || try == 3 {
			break
		}
		if !sleep(ctx, backoff(500*time.Millisecond, 2*time.Second, try, nil)) {
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		r := reasonOf(err)
		if r == ReasonError {
			log.Error("approval could not be validated", "err", err)
			c.setOffline(err)
		} else {
			log.Warn("approval refused", "reason", r, "err", err)
		}
		c.reject(ctx, r)
		return
	}
	log.Info("approved", "user", a.UserID, "method", a.VerificationMethod)
	if err := c.sink.Approved(ctx, a.UserID); err != nil {
		// The sink refused to let them in (it could not record the entry):
		// the screen must not say welcome at a door that stayed shut.
		log.Error("approved, but the door refused it", "err", err)
		c.board.set(Declined, "")
		sleep(ctx, c.hold)
		return
	}
	c.board.set(Welcome, "")
	sleep(ctx, c.hold)
}

func (c *Controller) reject(ctx context.Context, r Reason) {
	if err := c.sink.Rejected(ctx, r); err != nil {
		c.log.Error("sink: rejected", "err", err)
	}
	if r != ReasonError {
		c.board.set(Declined, "")
	}
	sleep(ctx, c.hold)
}

// setOffline shows Unavailable and logs the cause once per outage.
func (c *Controller) setOffline(err error) {
	if cur, _ := c.board.get(); cur.State != Unavailable {
		c.board.set(Unavailable, "")
	}
	if !c.offline {
		c.offline = true
		if errors.Is(err, authsignal.ErrUnauthorized) {
			c.log.Error("display sign-in unavailable: Authsignal refused the credentials", "err", err)
		} else {
			c.log.Warn("display sign-in unavailable", "err", err)
		}
	}
}

func (c *Controller) setOnline() {
	if c.offline {
		c.offline = false
		c.log.Info("display sign-in available again")
	}
}

// backoff is base·2^(n-1), capped, with ±20 % jitter so a fleet of kiosks
// behind one uplink does not retry in step. A 401 waits the cap at once.
func backoff(base, cap time.Duration, n int, err error) time.Duration {
	if errors.Is(err, authsignal.ErrUnauthorized) {
		n = math.MaxInt
	}
	return retry.Policy{Min: base, Max: cap, Low: 0.8, High: 1.2}.Delay(n)
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// shortHash names a challenge in logs without printing it.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
