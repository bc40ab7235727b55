package verify

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/kioskd/kioskd/store"
)

// Exchanger confirms a code the cache does not know, online. The sync helper
// implements it with BitBadges' token exchange, which consumes the code
// server-side: a success is therefore recorded as a redemption.
type Exchanger interface {
	Exchange(ctx context.Context, code string) (store.Record, error)
}

// Store is what a Verifier reads and writes: the code cache, the badge
// owners, redemptions and the event outbox (*store.Store).
type Store interface {
	// Inspect reads a code's record and redemption state.
	Inspect(hash string) (store.Inspection, error)
	// InspectHoldings is Inspect plus the code owner's badges in one read.
	InspectHoldings(hash string, collections []string) (store.Inspection, store.OwnersInfo, map[string]store.Holding, error)
	// LockCode serialises the checks of one code.
	LockCode(hash string) (unlock func())
	// Redeem durably records a redemption with its event.
	Redeem(ctx context.Context, r store.Redemption, ev store.Event) error
	AppendEvent(ev store.Event) error
	Meta() (store.Meta, error)
	TrustedTime() time.Time
	Owners() (store.OwnersInfo, error)
	Holdings(address string, collections []string) (store.OwnersInfo, map[string]store.Holding, error)
	PutOnlineHolding(collection, address string, bals []store.Balance) error
	ForEachOwner(fn func(collection, address string, bals []store.Balance) error) error
}

var _ Store = (*store.Store)(nil)

// Options configure a Verifier.
type Options struct {
	Policy Policy
	Kiosk  string // this kiosk's id, in redemptions and events
	// Exchanger, when set, is tried for codes the cache does not know
	// (never on a dry run), within ExchangeBudget.
	Exchanger      Exchanger
	ExchangeBudget time.Duration
	Now            func() time.Time // the wall clock; nil = time.Now
	Logger         *slog.Logger
	// Access gates entries on badges held (gate.go); Balances, when set,
	// re-checks a visitor the cached owners refuse, online (never on a dry
	// run), within ExchangeBudget.
	Access   Access
	Balances BalanceChecker
}

// CheckOpts modify one Check.
type CheckOpts struct {
	// DryRun decides without recording anything and without an online exchange.
	DryRun bool
	// Direction is "entry", "exit" or "" (a door without anti-passback).
	Direction string
	// Input names where the code was read (a configured input's name),
	// carried into the verdict and its event.
	Input string
}

// Health is what the pipeline needs to show a fault pattern.
type Health struct {
	CacheAge     time.Duration // since the serving cache was complete (0 if never)
	Stale        bool          // never synced, or older than policy.max_cache_age
	ClockTrusted bool
	Count        int
	// Recording is how this Verifier's writes to the store fare.
	Recording Recording
}

// Recording is how the writes of redemptions and verdict events fare. A
// store that cannot write (a full disk) turns every valid code into a reject
// with reason error: the kiosk is then not doing its job and must say so,
// though nothing else in it looks wrong.
type Recording struct {
	// Failing: the last write failed and none succeeded since.
	Failing bool
	// Failures is how many writes failed since the last success, the first
	// of them at Since; LastError is the latest one's error.
	Failures  int
	Since     time.Time
	LastError string
	// LastOK is when a write last succeeded (zero: none yet).
	LastOK time.Time
}

// Verifier applies the venue's policy over the store. It is safe for
// concurrent use.
type Verifier struct {
	st          Store
	o           Options
	from, until time.Time
	log         *slog.Logger

	recMu sync.Mutex
	rec   Recording

	holders holderCache     // see Requirements
	access  accessPolicy    // o.Access, precomputed
	visits  store.VisitRule // o.Policy.Visits (visits.go)
	vst     VisitStore      // st, when it counts visits
	vstats  visitStats
}

// New returns a Verifier over st.
func New(st Store, o Options) *Verifier {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ExchangeBudget <= 0 {
		o.ExchangeBudget = 1500 * time.Millisecond
	}
	v := &Verifier{st: st, o: o, log: o.Logger, access: newAccessPolicy(o.Access)}
	v.from, v.until = o.Policy.Window()
	v.initVisits() // visits.go
	return v
}

// Check decides whether code (a normalized lowercase 64-hex string) lets its
// holder in now. Unless c.DryRun, an accept is durably recorded as a
// redemption before Check returns (so the door may open), and every verdict is
// recorded as an event. A failure to decide or to record is Reason Error,
// never an accept.
func (v *Verifier) Check(ctx context.Context, code string, c CheckOpts) Verdict {
	hash := store.HashCode(code)
	if c.Direction != store.DirEntry && c.Direction != store.DirExit {
		c.Direction = "" // an undirected scan: no anti-passback
	}
	if !c.DryRun {
		// Read-decide-redeem must be atomic per code, or two concurrent
		// presentations of a single-use code could both be accepted.
		defer v.st.LockCode(hash)()
	}
	wall := v.o.Now()
	var in store.Inspection
	var pre *prefetched
	var err error
	if v.o.Access.Gated() {
		// The holder's badges from the same snapshot as the code's record.
		pre = &prefetched{}
		in, pre.info, pre.holdings, err = v.st.InspectHoldings(hash, v.access.colls)
	} else {
		in, err = v.st.Inspect(hash)
	}
	if err != nil {
		return v.fail(c, Verdict{Hash: hash, At: wall}, "reading store", err)
	}
	exchangeable := v.o.Exchanger != nil && !c.DryRun
	d := v.policy().decide(facts{
		Found: in.Found, Record: in.Record, State: in.State, Redeemed: in.Redeemed,
		LastSync: in.Meta.LastSync, Wall: wall, Trusted: in.Meta.TrustedTime,
		Direction: c.Direction, Exchangeable: exchangeable,
	})
	vd := Verdict{Reason: d.Reason, Hash: hash, At: d.At, Warning: d.Warning}
	if in.Found {
		vd.Name, vd.Address = in.Record.Name, in.Record.Address
	}
	ownerAddr := in.Record.OwnerAddress()
	if d.NeedExchange {
		vd, ownerAddr = v.exchange(ctx, code, vd)
		pre = nil // not the cached record's holder: read them now
	}
	var gated gateOutcome
	if vd.Reason == OK && v.o.Access.Gated() && c.Direction != store.DirExit {
		// Leaving needs no badge; entering does, whatever else let it in.
		switch {
		case !d.ClockTrusted && v.o.Policy.UntrustedClock == "reject":
			// Ownership windows and the owners' age are time rules.
			vd.Reason = ClockUntrusted
		default:
			gated = v.gate(ctx, ownerAddr, vd.At, c.DryRun, pre)
			vd.Reason, vd.Requirement = gated.Reason, gated.Requirement
			vd.Warning = joinWarn(vd.Warning, gated.Warning)
			if vd.Reason != OK {
				vd.Warning = ""
			}
		}
	}
	vd.Accept = vd.Reason == OK
	var detail []string
	if vd.Warning != "" {
		detail = append(detail, vd.Warning)
	}
	if vd.Requirement != "" && !c.DryRun { // a dry run records no event
		// The requirement's name and enough of the address to tell
		// visitors apart, never the whole of it.
		detail = append(detail, "requirement "+vd.Requirement, "address "+addrPrefix(ownerAddr))
	}
	if gated.Detail != "" {
		detail = append(detail, gated.Detail)
	}
	if !d.ClockTrusted {
		detail = append(detail, "wall clock "+wall.UTC().Format(time.RFC3339))
	}
	if vd.Online {
		detail = append(detail, "online")
	}
	if c.Direction != "" {
		detail = append(detail, c.Direction)
	}
	vd.Holder = ownerAddr
	return v.recordChecked(ctx, c, vd, strings.Join(detail, "; "), d.ClockTrusted) // visits.go
}

// exchange asks the Exchanger about a code the cache does not know; the
// gates that need no record (clock, window, re-use) already passed.
func (v *Verifier) exchange(ctx context.Context, code string, vd Verdict) (Verdict, string) {
	ctx, cancel := context.WithTimeout(ctx, v.o.ExchangeBudget)
	defer cancel()
	rec, err := v.o.Exchanger.Exchange(ctx, code)
	if err != nil {
		// The exchanger's error must not carry the code; log only its class.
		v.log.Info("online exchange failed", "hash", prefix(vd.Hash), "timeout", errors.Is(err, context.DeadlineExceeded))
		vd.Reason = Unknown
		return vd, ""
	}
	vd.Online = true
	vd.Name, vd.Address = rec.Name, rec.Address
	if !rec.ExpiresAt.IsZero() && !vd.At.Before(rec.ExpiresAt) {
		vd.Reason = Expired
		return vd, rec.OwnerAddress()
	}
	vd.Reason = OK
	return vd, rec.OwnerAddress()
}

// NotACode records a scanned QR that is not a kiosk code and returns its
// verdict. Of o (at most one), only Input is used: where it was read.
func (v *Verifier) NotACode(ctx context.Context, o ...CheckOpts) Verdict {
	wall := v.o.Now()
	at, _ := v.policy().decisionTime(wall, v.st.TrustedTime())
	var c CheckOpts
	if len(o) > 0 {
		c.Input = o[0].Input
	}
	return v.record(ctx, c, Verdict{Reason: NotACode, At: at}, "")
}

// record writes the verdict's redemption (accept) and event, unless dry run.
func (v *Verifier) record(ctx context.Context, c CheckOpts, vd Verdict, detail string) Verdict {
	vd.Input = c.Input
	if c.DryRun {
		v.logVerdict(vd, true)
		return vd
	}
	ev := store.Event{
		Nonce: store.NewNonce(), Time: vd.At, Kiosk: v.o.Kiosk, Kind: store.KindVerdict,
		Accept: vd.Accept, Reason: vd.Reason.String(), Hash: vd.Hash, Detail: detail, Input: c.Input,
	}
	vd.Nonce = ev.Nonce
	if vd.Accept {
		r := store.Redemption{Hash: vd.Hash, At: vd.At, Kiosk: v.o.Kiosk, Direction: c.Direction, Nonce: ev.Nonce}
		err := v.st.Redeem(ctx, r, ev)
		v.wrote(err)
		if err != nil {
			return v.fail(c, vd, "recording redemption", err)
		}
		v.logVerdict(vd, false)
		return vd
	}
	err := v.st.AppendEvent(ev)
	v.wrote(err)
	if err != nil {
		// The verdict is already a reject: losing its event is logged, not fatal.
		v.log.Error("recording event", "reason", vd.Reason.String(), "hash", prefix(vd.Hash), "err", err)
	}
	v.logVerdict(vd, false)
	return vd
}

// fail turns a store failure into a rejecting Error verdict.
func (v *Verifier) fail(c CheckOpts, vd Verdict, doing string, err error) Verdict {
	v.log.Error("verdict failed", "doing", doing, "hash", prefix(vd.Hash), "err", err)
	vd.Accept, vd.Reason, vd.Online, vd.Input = false, Error, false, c.Input
	if !c.DryRun {
		ev := store.Event{Nonce: store.NewNonce(), Time: vd.At, Kiosk: v.o.Kiosk, Kind: store.KindVerdict,
			Reason: Error.String(), Hash: vd.Hash, Detail: doing, Input: c.Input}
		vd.Nonce = ev.Nonce
		err := v.st.AppendEvent(ev)
		v.wrote(err)
		if err != nil {
			v.log.Error("recording error event", "err", err)
		}
	}
	return vd
}

func (v *Verifier) logVerdict(vd Verdict, dry bool) {
	v.log.Info("verdict", "accept", vd.Accept, "reason", vd.Reason.String(), "hash", prefix(vd.Hash),
		"warning", vd.Warning, "online", vd.Online, "dry_run", dry, "input", vd.Input,
		"visit", vd.Visit, "visit_counted", vd.VisitCounted)
}

// wrote notes the outcome of one write to the store. A write cut short
// because its caller gave up (shutdown) says nothing about the store.
func (v *Verifier) wrote(err error) {
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return
	}
	now := v.o.Now()
	v.recMu.Lock()
	defer v.recMu.Unlock()
	if err == nil {
		v.rec = Recording{LastOK: now}
		return
	}
	if !v.rec.Failing {
		v.rec.Failing, v.rec.Since = true, now
	}
	v.rec.Failures++
	v.rec.LastError = err.Error()
}

// NoteWrite lets a part that records entries beside the verifier (the
// display mode's approvals) count its writes in Recording, so the kiosk's
// health covers every way the door opens.
func (v *Verifier) NoteWrite(err error) { v.wrote(err) }

// Recording reports how the writes of redemptions and events fare.
func (v *Verifier) Recording() Recording {
	v.recMu.Lock()
	defer v.recMu.Unlock()
	return v.rec
}

// Health reports the cache's age, the clock's trust at wall time now, and
// whether verdicts can be recorded.
func (v *Verifier) Health(now time.Time) Health {
	m, err := v.st.Meta()
	if err != nil {
		v.log.Error("reading store meta", "err", err)
		return Health{Stale: true, Recording: v.Recording()}
	}
	p := v.policy()
	at, trusted := p.decisionTime(now, m.TrustedTime)
	h := Health{ClockTrusted: trusted, Count: m.Count, Recording: v.Recording()}
	if m.LastSync.IsZero() {
		h.Stale = true
		return h
	}
	h.CacheAge = at.Sub(m.LastSync)
	h.Stale = p.stale(at, m.LastSync)
	return h
}

func (v *Verifier) policy() policy {
	return policy{Policy: v.o.Policy, from: v.from, until: v.until}
}

// prefix is the loggable part of a code hash.
func prefix(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
