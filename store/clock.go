package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bounds of the trusted-time floor (see the package doc, The trusted clock).
const (
	// DefaultClockStep is how far past the floor plus the time known to have
	// elapsed one server time may move the floor.
	DefaultClockStep = 24 * time.Hour
	// DefaultClockAgreement is how closely a second sync must agree with a
	// held jump (server time advanced by the same as the device's clock) to
	// confirm it.
	DefaultClockAgreement = 5 * time.Minute
)

// Keys of a jump held for confirmation: the server time and the device's
// clock when it was seen.
var (
	keyClockPending     = []byte("clock_pending")
	keyClockPendingWall = []byte("clock_pending_wall")
)

// ClockState is the trusted-time floor and what bounds it, for `kioskd clock`.
type ClockState struct {
	Floor time.Time // the latest trustworthy time (zero: none)
	// Bound is the latest server time one observation may move the floor to now.
	Bound time.Time
	// Pending is a sync's server time beyond Bound, held until a second sync
	// agrees with it (zero: none); PendingSeen is the device's clock then.
	Pending, PendingSeen time.Time
	LastSync             time.Time
}

// ClockReset describes what ResetClock did.
type ClockReset struct {
	Before, After ClockState
	// Restamped counts codes whose redemption was stamped later than the
	// reset's reference time and now carries that time instead.
	Restamped int
}

func (s *Store) now() time.Time {
	if s.opt.Now != nil {
		return s.opt.Now()
	}
	return time.Now()
}

func (s *Store) clockStep() time.Duration {
	if s.opt.ClockStep > 0 {
		return s.opt.ClockStep
	}
	return DefaultClockStep
}

func (s *Store) clockAgreement() time.Duration {
	if s.opt.ClockAgreement > 0 {
		return s.opt.ClockAgreement
	}
	return DefaultClockAgreement
}

// boundLocked is the latest time one observation may move the floor to at
// now: the floor plus the time this process has measured since the floor was
// set or loaded (monotonic: a real lower bound of the time that passed) plus
// the step. With no floor yet the device's clock is the only reference.
// Call with s.mu held.
func (s *Store) boundLocked(now time.Time) time.Time {
	if s.meta.TrustedTime.IsZero() {
		return now.Add(s.clockStep())
	}
	elapsed := max(0, now.Sub(s.floorSeen))
	return s.meta.TrustedTime.Add(elapsed + s.clockStep())
}

// setFloorLocked records a new floor and when it was set. Call with s.mu held.
func (s *Store) setFloorLocked(t, now time.Time) {
	if !t.Equal(s.meta.TrustedTime) {
		s.meta.TrustedTime = t
		s.floorSeen = now
	}
}

// ObserveServerTime records t, the Date of a successful, authenticated server
// response, as trusted time if it is later than the floor and not beyond the
// bound (ClockState.Bound); a time beyond it is ignored and reported as not
// taken (a jump is only believed when two syncs agree: see Snapshot.Commit).
// It is durable.
func (s *Store) ObserveServerTime(t time.Time) (taken bool, err error) {
	if t.IsZero() {
		return false, nil
	}
	now := s.now()
	s.mu.Lock()
	floor, bound := s.meta.TrustedTime, s.boundLocked(now)
	s.mu.Unlock()
	if !t.After(floor) {
		return false, nil
	}
	if t.After(bound) {
		s.log.Warn("clock: server time ignored, too far ahead of the trusted time",
			"server_time", t, "trusted_time", floor, "bound", bound)
		return false, nil
	}
	return true, s.storeFloor(t, now)
}

// ObserveTrustedTime records t as trustworthy if it is later than the floor,
// without any bound: the caller vouches for t (an operator's reset, a test).
// Server times go through ObserveServerTime. It is durable.
func (s *Store) ObserveTrustedTime(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	s.mu.Lock()
	later := t.After(s.meta.TrustedTime)
	s.mu.Unlock()
	if !later {
		return nil
	}
	return s.storeFloor(t, s.now())
}

func (s *Store) storeFloor(t, now time.Time) error {
	var kept time.Time
	err := s.db.Update(func(tx *bolt.Tx) error {
		kept = observeTime(tx.Bucket(bucketMeta), t)
		return nil
	})
	if err != nil {
		return fmt.Errorf("storing trusted time: %w", err)
	}
	s.mu.Lock()
	if kept.After(s.meta.TrustedTime) {
		s.setFloorLocked(kept, now)
	}
	s.mu.Unlock()
	return nil
}

// observeTime keeps the max of the stored trusted time and t, returning it.
func observeTime(m *bolt.Bucket, t time.Time) time.Time {
	old := getTime(m, keyTrustedTime)
	if !t.After(old) {
		return old
	}
	putTime(m, keyTrustedTime, t)
	return t
}

// commitClock decides, inside a snapshot's commit transaction, what the
// snapshot's time at does to the floor, and returns the LastSync to record.
//   - at within the bound is taken, like ObserveServerTime (and, for a sync,
//     clears a held jump: the server is back to normal);
//   - a sync's at beyond the bound is held as a pending jump, unless a jump
//     held by an earlier sync agrees with it (the server's time advanced as
//     much as the device's clock since, within the agreement): then it is
//     taken;
//   - an import's at beyond the bound is never taken: a file is not a server
//     that proved itself, and importing it twice proves nothing.
//
// The LastSync of a time not taken is cut to the later of the floor plus the
// elapsed time and the device's clock, so a cache stamped 2100 still ages.
func (s *Store) commitClock(m *bolt.Bucket, at time.Time, source string, now, bound time.Time) (lastSync time.Time) {
	if at.IsZero() {
		return at
	}
	if !at.After(bound) {
		observeTime(m, at)
		if source == "sync" {
			putTime(m, keyClockPending, time.Time{})
			putTime(m, keyClockPendingWall, time.Time{})
		}
		return at
	}
	if source == "sync" {
		pend, seen := getTime(m, keyClockPending), getTime(m, keyClockPendingWall)
		if !pend.IsZero() && agrees(at.Sub(pend), now.Sub(seen), s.clockAgreement()) {
			observeTime(m, at)
			putTime(m, keyClockPending, time.Time{})
			putTime(m, keyClockPendingWall, time.Time{})
			s.log.Warn("clock: a second sync confirmed the server's jump; trusted time moved",
				"server_time", at, "held_since", seen)
			return at
		}
		putTime(m, keyClockPending, at)
		putTime(m, keyClockPendingWall, now)
		s.log.Warn("clock: sync's server time held, too far ahead of the trusted time; "+
			"the next sync must agree before it is trusted", "server_time", at, "bound", bound)
	} else {
		s.log.Warn("clock: snapshot time not trusted, too far ahead of the trusted time",
			"source", source, "snapshot_time", at, "bound", bound)
	}
	// The floor plus the elapsed time is known to have passed; the device's
	// clock is right more often than not. A cache not stamped beyond the
	// later of the two does not look fresher than it may be.
	return minTime(at, maxTime(bound.Add(-s.clockStep()), now))
}

// agrees reports whether the server's clock advanced by about as much as the
// device's between two syncs.
func agrees(server, device, within time.Duration) bool {
	d := server - device
	return d >= -within && d <= within
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ClockState returns the floor, its bound now and any jump held for confirmation.
func (s *Store) ClockState() (ClockState, error) {
	now := s.now()
	var cs ClockState
	err := s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		cs.Pending, cs.PendingSeen = getTime(m, keyClockPending), getTime(m, keyClockPendingWall)
		return nil
	})
	if err != nil {
		return ClockState{}, fmt.Errorf("reading the clock state: %w", err)
	}
	s.mu.Lock()
	cs.Floor, cs.Bound, cs.LastSync = s.meta.TrustedTime, s.boundLocked(now), s.meta.LastSync
	s.mu.Unlock()
	return cs, nil
}

// ResetClock replaces the trusted-time floor with to (zero: no trusted time,
// so the device's clock is trusted until the next sync) and forgets a held
// jump. Times later than the device's clock are pulled back to it: the
// LastSync, so a cache stamped in the future ages again, and redemption
// stamps (see restampAfter). The cache and every redemption are kept. It is
// one durable transaction.
func (s *Store) ResetClock(to time.Time) (ClockReset, error) {
	var r ClockReset
	var err error
	if r.Before, err = s.ClockState(); err != nil {
		return r, err
	}
	// Only times later than the device's clock are known to be wrong (the
	// operator set it right before resetting); a use between to and now is
	// real and keeps its time.
	now := s.now()
	var meta Meta
	err = s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		putTime(m, keyTrustedTime, to)
		putTime(m, keyClockPending, time.Time{})
		putTime(m, keyClockPendingWall, time.Time{})
		if getTime(m, keyLastSync).After(now) {
			putTime(m, keyLastSync, now)
		}
		meta = readMeta(m)
		var err error
		r.Restamped, err = restampAfter(tx, now)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("resetting the trusted clock: %w", err)
	}
	s.mu.Lock()
	s.meta = meta
	s.floorSeen = now
	s.mu.Unlock()
	r.After, err = s.ClockState()
	return r, err
}

// restampAfter pulls every redemption time later than t back to t and
// returns how many codes it changed. Such a stamp was decided under a wrong
// time (a floor or a clock in the future); left alone, a cooldown code would
// stay already-used until that future time. The use itself (count, inside,
// nonce) is kept: a single-use code stays used, a cooldown code waits from t.
func restampAfter(tx *bolt.Tx, t time.Time) (int, error) {
	b := tx.Bucket(bucketRedemptions)
	type change struct{ key, val []byte }
	var changes []change
	err := b.ForEach(func(k, v []byte) error {
		st, err := decodeState(v)
		if err != nil {
			return nil // a corrupt entry is not this command's business
		}
		if !st.Last.At.After(t) && !st.LastUse.At.After(t) {
			return nil
		}
		if st.Last.At.After(t) {
			st.Last.At = t
		}
		if st.LastUse.At.After(t) {
			st.LastUse.At = t
		}
		// bbolt forbids writing a bucket while iterating it: collect first.
		changes = append(changes, change{append([]byte(nil), k...), encodeState(st)})
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, c := range changes {
		if err := b.Put(c.key, c.val); err != nil {
			return 0, err
		}
	}
	return len(changes), nil
}
