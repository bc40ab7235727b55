package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
)

// ErrNoRefreshToken means neither the store nor bitbadges.refresh_token_file
// holds a refresh token: the kiosk was never authorised.
var ErrNoRefreshToken = errors.New("no BitBadges refresh token: set bitbadges.refresh_token_file")

// errSnapshot marks a failure of the store, not of the API.
var errSnapshot = errors.New("writing the new cache")

// Syncer does one full pre-fetch at a time into a new store snapshot.
// Set the fields before the first Sync; Sync may be called from any
// goroutine (calls are serialised).
type Syncer struct {
	Client *bitbadges.Client
	Cache  Cache
	// InitialRefreshToken reads bitbadges.refresh_token_file. It is used
	// while the store holds no refresh token, and once more if the stored
	// one is refused (the venue re-authorised and put a new one in the file).
	InitialRefreshToken func() (string, error)
	// Trusted, if set, is flushed at the end of every sync.
	Trusted *TrustedTime
	Logger  *slog.Logger
	Clock   Clock

	// Require are the access requirements whose token owners each sync
	// pages into the snapshot after the codes (owners.go).
	Require []store.Requirement

	// MaxMalformed is the fraction of malformed records above which a
	// pre-fetch is refused (a changed schema must not empty the cache);
	// 0 = 0.1.
	MaxMalformed float64
	// ResumeWithin is how long an interrupted pre-fetch may be resumed
	// (its snapshot held open) rather than started over; 0 =
	// DefaultResumeWithin, negative = never resume.
	ResumeWithin time.Duration
	// MaxPages and MaxDuration bound one pre-fetch, resumptions included
	// (bitbadges.sync_max_pages, sync_max_duration); 0 = auto: 3× the last
	// complete pre-fetch plus a margin (see bounds.go).
	MaxPages    int
	MaxDuration time.Duration
	// HoldBack says which complete snapshots are too small to replace the
	// cache without the operator's word.
	HoldBack HoldBackPolicy

	mu          stdsync.Mutex
	access      string
	expiry      time.Time
	unpersisted string   // a rotated refresh token the store failed to keep
	partial     *partial // an interrupted pre-fetch to resume

	pmu      stdsync.Mutex // guards what status reads while a sync runs
	progress Progress
	heldBack *HeldBack
	lastGood lastGood
}

// Progress is the pre-fetch under way, for status.
type Progress struct {
	Running bool
	Since   time.Time // when this pre-fetch (its first attempt) began
	Pages   int       // pages requested so far
	Records int       // records received so far
}

// lastGood sizes the next pre-fetch's bounds.
type lastGood struct {
	Pages      int
	OwnerPages int // of the badge owners, all tokens together
	Duration   time.Duration
}

// HoldBackPolicy decides when a complete snapshot is held back rather than
// committed: when it would empty a non-empty cache, or drop more than MaxDrop
// of a cache of at least MinCodes codes.
type HoldBackPolicy struct {
	// MaxDrop is the fraction of the cached codes a snapshot may drop;
	// 0 = DefaultMaxDrop; 1 or more = never hold back, not even an empty one.
	MaxDrop float64
	// MinCodes is the cache size from which MaxDrop applies; 0 = DefaultMinCodes.
	MinCodes int
}

// Defaults of HoldBackPolicy.
const (
	DefaultMaxDrop  = 0.5
	DefaultMinCodes = 100
)

// holds reports whether a snapshot of codes would be held back over a cache
// of cached codes.
func (p HoldBackPolicy) holds(cached, codes int) bool {
	drop, minCodes := p.MaxDrop, p.MinCodes
	if drop <= 0 {
		drop = DefaultMaxDrop
	}
	if minCodes <= 0 {
		minCodes = DefaultMinCodes
	}
	switch {
	case drop >= 1 || cached == 0 || codes >= cached:
		return false
	case codes == 0:
		// An empty answer is the server's failure far more often than a
		// venue's: no small cache is emptied without a word either.
		return true
	}
	return cached >= minCodes && float64(cached-codes) > drop*float64(cached)
}

// HeldBack is a complete snapshot that was not committed because it would
// have shrunk the cache too far; the old cache keeps serving.
type HeldBack struct {
	Codes      int       // distinct codes in the held-back snapshot
	Cached     int       // codes in the serving cache
	At         time.Time // when it was held back
	Duplicates int       // records repeated within it
}

// ErrHeldBack is a complete snapshot held back (see HoldBackPolicy).
var ErrHeldBack = errors.New("snapshot held back")

// SyncOptions change one sync.
type SyncOptions struct {
	// ApplyHeldBack commits the snapshot even if HoldBack would hold it
	// back: the operator's word that the shrink is real.
	ApplyHeldBack bool
}

// Progress returns the pre-fetch under way (Running false when none).
func (s *Syncer) Progress() Progress {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.progress
}

// HeldBack returns the snapshot the last sync held back, nil when the last
// complete pre-fetch was committed.
func (s *Syncer) HeldBack() *HeldBack {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.heldBack == nil {
		return nil
	}
	hb := *s.heldBack
	return &hb
}

func (s *Syncer) setProgress(f func(*Progress)) {
	s.pmu.Lock()
	f(&s.progress)
	s.pmu.Unlock()
}

// DefaultResumeWithin bounds how stale the first pages of a resumed
// pre-fetch may be. A code deleted after its page was read survives until
// the next full pre-fetch, as it would in one slow pre-fetch.
const DefaultResumeWithin = 15 * time.Minute

// Result describes one completed pre-fetch.
type Result struct {
	Codes      int // distinct codes in the new cache
	Records    int // records received: Codes + Duplicates
	Duplicates int // records repeating a code already received (a server repeating pages; a resumption re-reads one page)
	Normalised int // codes sent in upper case, stored under the hash of their lower-case text
	Pages      int
	Deleted    int // soft-deleted records skipped
	Malformed  int // records skipped as unusable
	Bytes      int64
	Duration   time.Duration
	ServerTime time.Time
	Renewed    bool // the access token was renewed during this sync
	// ClockHeld: the server's time was too far ahead of the trusted time to
	// be believed from one sync; the store holds it until a second agrees
	// (the Scheduler runs that one soon: see ClockConfirmAfter).
	ClockHeld bool
	Owners    OwnersResult // the badge owners fetched (access requirements)
}

func (s *Syncer) log() *slog.Logger { return orDiscard(s.Logger) }

func (s *Syncer) clock() Clock { return orReal(s.Clock) }

// Sync runs one full pre-fetch. On success the new cache is committed; on
// any failure the old cache keeps serving, and the new snapshot is either
// aborted or, after an API or network failure, held for the next Sync to
// resume (see ResumeWithin).
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	return s.SyncWith(ctx, SyncOptions{})
}

// SyncWith is Sync with options.
func (s *Syncer) SyncWith(ctx context.Context, opt SyncOptions) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.clock().Now()
	s.setProgress(func(p *Progress) { *p = Progress{Running: true, Since: start} })
	defer s.setProgress(func(p *Progress) { *p = Progress{} })
	var res Result
	defer func() {
		if s.Trusted != nil {
			if err := s.Trusted.Flush(); err != nil {
				s.log().Warn("sync: storing trusted time", "err", err)
			}
		}
	}()
	// Renew a little before expiry: a token that dies mid-pre-fetch costs a restart.
	if s.access == "" || (!s.expiry.IsZero() && s.clock().Now().Add(5*time.Minute).After(s.expiry)) {
		if err := s.renew(ctx); err != nil {
			return res, err
		}
		res.Renewed = true
	}
	for {
		r, err := s.prefetch(ctx, opt)
		r.Renewed = res.Renewed
		r.Duration = s.clock().Now().Sub(start)
		if err != nil && errors.Is(err, bitbadges.ErrUnauthorized) && !errors.Is(err, errSnapshot) {
			if !res.Renewed {
				s.log().Info("sync: access token refused, renewing it once")
				s.access = ""
				if err := s.renew(ctx); err != nil {
					return r, err
				}
				res.Renewed = true
				continue
			}
			s.access = ""
			return r, fmt.Errorf("pre-fetch refused even with a fresh access token: "+
				"check bitbadges.api_key_file and that the owner's token has scope manageDeveloperApps: %w", err)
		}
		return r, err
	}
}

// renew trades the refresh token for an access token and persists the
// rotated refresh token before the access token is kept.
func (s *Syncer) renew(ctx context.Context) error {
	candidates, err := s.refreshCandidates()
	if err != nil {
		return err
	}
	var lastErr error
	for i, rt := range candidates {
		tok, err := s.Client.RefreshAccessToken(ctx, rt)
		if err != nil {
			lastErr = err
			if errors.Is(err, bitbadges.ErrUnauthorized) && i+1 < len(candidates) {
				s.log().Warn("sync: stored refresh token refused, trying bitbadges.refresh_token_file")
				continue
			}
			break
		}
		// The old refresh token is dead from here on: keep the new one
		// durably before anything can fail.
		if err := s.Cache.SetRefreshToken(tok.RefreshToken); err != nil {
			s.unpersisted = tok.RefreshToken
			s.access = ""
			// Say what is at stake: the old token is dead, the new one lives
			// only in this process (kioskd sync, a restart: gone).
			return fmt.Errorf("keeping the rotated refresh token (BitBadges has retired the old one; "+
				"this process holds the new one until it can be stored: free disk space; "+
				"if kioskd stops first, re-authorise the kiosk and put the new refresh token in bitbadges.refresh_token_file): %w", err)
		}
		s.unpersisted = ""
		s.access, s.expiry = tok.AccessToken, tok.AccessExpiry
		s.log().Info("sync: access token renewed", "expires", tok.AccessExpiry)
		return nil
	}
	if errors.Is(lastErr, bitbadges.ErrUnauthorized) {
		return fmt.Errorf("renewing the access token: BitBadges refused it (a wrong API key, or a refresh "+
			"token revoked or already rotated away); check bitbadges.api_key_file, or re-authorise the kiosk "+
			"and put the new refresh token in bitbadges.refresh_token_file: %w", lastErr)
	}
	return fmt.Errorf("renewing the access token: %w", lastErr)
}

func (s *Syncer) refreshCandidates() ([]string, error) {
	if s.unpersisted != "" {
		return []string{s.unpersisted}, nil
	}
	stored, err := s.Cache.RefreshToken()
	if err != nil {
		return nil, fmt.Errorf("reading the stored refresh token: %w", err)
	}
	var file string
	if s.InitialRefreshToken != nil {
		f, ferr := s.InitialRefreshToken()
		if ferr != nil && stored == "" {
			return nil, fmt.Errorf("reading the initial refresh token: %w", ferr)
		}
		file = f
	}
	var out []string
	if stored != "" {
		out = append(out, stored)
	}
	if file != "" && file != stored {
		out = append(out, file)
	}
	if len(out) == 0 {
		return nil, ErrNoRefreshToken
	}
	return out, nil
}

// partial is a pre-fetch interrupted by a failure worth resuming: its
// snapshot stays open (uncommitted: the old cache keeps serving) and the
// next attempt continues after its bookmark instead of starting over.
type partial struct {
	snap     Snapshot
	bookmark string
	started  time.Time
	bounds   bounds
	watch    *pageWatch
	res      Result // accumulated over the attempts
}

func (s *Syncer) resumeWithin() time.Duration {
	if s.ResumeWithin == 0 {
		return DefaultResumeWithin
	}
	return s.ResumeWithin
}

// dropPartial aborts an interrupted pre-fetch's snapshot.
func (s *Syncer) dropPartial() {
	if s.partial == nil {
		return
	}
	if err := s.partial.snap.Abort(); err != nil {
		s.log().Error("sync: aborting the interrupted snapshot", "err", err)
	}
	s.partial = nil
}

// Close aborts an interrupted pre-fetch's snapshot, if one is held open.
func (s *Syncer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropPartial()
}

func (s *Syncer) prefetch(ctx context.Context, opt SyncOptions) (Result, error) {
	now := s.clock().Now()
	p := s.partial
	s.partial = nil
	if p != nil && (s.resumeWithin() < 0 || now.Sub(p.started) > s.resumeWithin()) {
		// Too old: codes deleted since its first pages would survive in it.
		s.partial = p
		s.dropPartial()
		p = nil
	}
	prev, _ := s.Cache.Meta()
	if p != nil {
		s.log().Info("sync: resuming the interrupted pre-fetch", "after_pages", p.res.Pages, "records", p.res.Records)
	} else {
		snap, err := s.Cache.NewSnapshot()
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w", errSnapshot, err)
		}
		b := s.bounds(prev.Count)
		p = &partial{snap: snap, started: now, bounds: b, watch: newPageWatch(b.pages)}
	}
	s.setProgress(func(pr *Progress) { pr.Since, pr.Pages, pr.Records = p.started, p.watch.count(), p.res.Records })

	// The bounds cancel the attempt's context with their reason as cause.
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// As a timeout, not a deadline: the Clock may not be the wall clock.
	actx, cancelT := context.WithTimeoutCause(actx, p.bounds.duration-now.Sub(p.started),
		fmt.Errorf("%w: still reading after %v (bitbadges.sync_max_duration; old cache kept)", ErrSyncBound, p.bounds.duration))
	defer cancelT()
	p.watch.mu.Lock()
	p.watch.cancel = cancel
	p.watch.onPage = func(n int) { s.setProgress(func(pr *Progress) { pr.Pages = n }) }
	p.watch.mu.Unlock()

	st, err := s.Client.PrefetchFrom(withWatch(actx, p.watch), s.access, p.bookmark, func(r bitbadges.Record) error {
		hash := r.DocID
		if r.Code != "" && strings.ToLower(r.Code) != r.Code {
			// A scan is looked up by the sha256 of its lower-case text
			// (scanner.ParsePayload), so a code sent in upper case is kept
			// under that hash, or it could never match.
			hash = bitbadges.HashCode(strings.ToLower(r.Code))
			p.res.Normalised++
		}
		if err := p.snap.Put(store.Record{Hash: hash, Address: r.Address, BitBadgesAddress: r.BitBadgesAddress, Chain: r.Chain,
			Name: r.Name, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}); err != nil {
			return fmt.Errorf("%w: %w", errSnapshot, err)
		}
		p.res.Records++
		if p.res.Records%pageSize == 0 {
			n := p.res.Records
			s.setProgress(func(pr *Progress) { pr.Records = n })
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		// A bound stopped it: say so rather than "context canceled".
		if c := context.Cause(actx); errors.Is(c, ErrSyncBound) || errors.Is(c, ErrBookmarkCycle) {
			err = c
		}
	}
	p.res.Pages += st.Pages
	p.res.Deleted += st.Deleted
	p.res.Malformed += st.Malformed
	p.res.Bytes += st.Bytes
	if !st.ServerTime.IsZero() {
		p.res.ServerTime = st.ServerTime
	}
	res := p.res
	res.Codes = res.Records
	if err == nil {
		err = s.checkMalformed(res)
	} else if st.Bookmark != "" && resumable(err) && s.resumeWithin() > 0 {
		p.bookmark = st.Bookmark
		s.partial = p
		return res, fmt.Errorf("pre-fetch interrupted after %d pages (old cache kept; the next attempt resumes): %w", res.Pages, err)
	}
	abort := func() {
		if aerr := p.snap.Abort(); aerr != nil {
			s.log().Error("sync: aborting the snapshot", "err", aerr)
		}
	}
	if err != nil {
		abort()
		if errors.Is(err, ErrSyncBound) || errors.Is(err, ErrBookmarkCycle) {
			return res, fmt.Errorf("pre-fetch stopped after %d pages and %v (bounds: %d pages, %v): %w",
				p.watch.count(), s.clock().Now().Sub(p.started).Round(time.Millisecond), p.bounds.pages, p.bounds.duration, err)
		}
		return res, fmt.Errorf("pre-fetch (page %d, old cache kept): %w", res.Pages+1, err)
	}
	distinct, err := p.snap.Distinct()
	if err != nil {
		abort()
		return res, fmt.Errorf("%w: counting its codes: %w", errSnapshot, err)
	}
	res.Codes, res.Duplicates = distinct, max(0, res.Records-distinct)
	if res.Duplicates > 0 {
		s.log().Warn("sync: the server repeated records", "records", res.Records, "codes", res.Codes, "duplicates", res.Duplicates)
	}
	if res.Normalised > 0 {
		s.log().Warn("sync: codes sent in upper case, kept under their lower-case hash", "count", res.Normalised)
	}
	if s.HoldBack.holds(prev.Count, res.Codes) {
		if !opt.ApplyHeldBack {
			abort()
			hb := &HeldBack{Codes: res.Codes, Cached: prev.Count, At: s.clock().Now(), Duplicates: res.Duplicates}
			s.pmu.Lock()
			s.heldBack = hb
			s.pmu.Unlock()
			s.log().Warn("sync: snapshot held back, the old cache keeps serving",
				"codes", res.Codes, "cached", prev.Count, "duplicates", res.Duplicates)
			return res, fmt.Errorf("%w: the server listed %d codes, the cache holds %d; the old cache keeps serving. "+
				"If the codes were really removed, stop the daemon and run `kioskd sync -apply-held-back`, "+
				"or raise bitbadges.hold_back_drop", ErrHeldBack, res.Codes, prev.Count)
		}
		s.log().Warn("sync: applying a snapshot that would have been held back, as asked",
			"codes", res.Codes, "cached", prev.Count)
	}
	// At is trusted by the store: take the server's clock, the device's
	// only when the server sent none.
	at := res.ServerTime
	if at.IsZero() {
		at = s.clock().Now()
	}
	// The badge owners go into the same snapshot; failing, it is dropped whole.
	// Under the attempt's context: the sync's time bound covers them too.
	if res.Owners, err = s.syncOwners(actx, p.snap, s.ownerPagesBound()); err != nil {
		if aerr := p.snap.Abort(); aerr != nil {
			s.log().Error("sync: aborting the snapshot", "err", aerr)
		}
		return res, fmt.Errorf("badge owners: %w", err)
	}
	if err := p.snap.Commit(store.SyncInfo{At: at, ServerTime: res.ServerTime, Source: "sync"}); err != nil {
		return res, fmt.Errorf("%w: committing: %w", errSnapshot, err)
	}
	if m, err := s.Cache.Meta(); err == nil && !m.ClockPending.IsZero() && m.ClockPending.Equal(at) {
		res.ClockHeld = true
	}
	s.pmu.Lock()
	s.heldBack = nil
	s.lastGood = lastGood{Pages: res.Pages, OwnerPages: res.Owners.Pages, Duration: s.clock().Now().Sub(p.started)}
	s.pmu.Unlock()
	s.log().Info("sync: cache replaced", "codes", res.Codes, "pages", res.Pages, "duplicates", res.Duplicates,
		"deleted", res.Deleted, "malformed", res.Malformed, "form", st.Form)
	return res, nil
}

// resumable reports failures after which the pages already read are still
// good: the API's and the network's, not the store's, not a bookmark loop.
func resumable(err error) bool {
	return !errors.Is(err, errSnapshot) && !errors.Is(err, bitbadges.ErrBookmarkLoop) &&
		!errors.Is(err, ErrBookmarkCycle) && !errors.Is(err, ErrSyncBound) && !errors.Is(err, context.Canceled)
}

func (s *Syncer) checkMalformed(st Result) error {
	if st.Malformed == 0 {
		return nil
	}
	limit := s.MaxMalformed
	if limit <= 0 {
		limit = 0.1
	}
	if st.Codes == 0 || float64(st.Malformed) > limit*float64(st.Codes+st.Malformed) {
		return fmt.Errorf("%w: %d of %d records unusable; refusing to replace the cache",
			bitbadges.ErrMalformed, st.Malformed, st.Codes+st.Malformed)
	}
	return nil
}

// String keeps the access token out of a printed Syncer.
func (s *Syncer) String() string { return "sync.Syncer" }

// GoString keeps %#v from printing the access token.
func (s *Syncer) GoString() string { return s.String() }
