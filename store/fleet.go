package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The fleet's part of the store (package fleet shares redemptions between
// the kiosks of a venue over MQTT).
//
// The fleet has its own outbox, separate from the events outbox that the
// HTTPS uploader drains: each consumer removes only what its own receiver
// acknowledged, so neither can take an event away from the other. Redeem
// queues a local redemption for the fleet in the same transaction that
// records it, but only once EnableFleetOutbox has created the fleet's
// buckets, and not after DisableFleetOutbox: a kiosk without a fleet never
// grows a fleet outbox. Redemptions already queued are kept until the
// broker acknowledges them (AckFleet) or an operator drops them
// (DropFleetOutbox), never lost to a config slip.
//
//	fleet-outbox     8-byte sequence → FleetItem JSON (oldest first)
//	fleet-uses       sha256 → JSON list of the code's uses seen by this kiosk
//	                 (local and peer), newest FleetUsesKept kept
//	fleet-conflicts  pair key → DoubleEntry JSON (one per pair of uses)
//	fleet-meta       outbox counters; "off" while queueing is stopped
var (
	bucketFleetOutbox    = []byte("fleet-outbox")
	bucketFleetUses      = []byte("fleet-uses")
	bucketFleetConflicts = []byte("fleet-conflicts")
	bucketFleetMeta      = []byte("fleet-meta")

	keyFleetPending = []byte("pending")
	keyFleetDropped = []byte("dropped")
	keyFleetOff     = []byte("off")
)

// FleetUsesKept bounds the uses remembered per code for double-entry
// detection: a single-use code has one or two, a cooldown code a few.
const FleetUsesKept = 16

// FleetItem is one local redemption waiting for the fleet broker's PUBACK.
type FleetItem struct {
	Seq        uint64     `json:"-"`
	Redemption Redemption `json:"r"`
}

// DoubleEntry is one code accepted at two kiosks, found when the redemption
// of the other kiosk arrived (typically after a network partition). Local is
// this kiosk's use, Peer the other's.
type DoubleEntry struct {
	Hash       string     `json:"hash"`
	Local      Redemption `json:"local"`
	Peer       Redemption `json:"peer"`
	DetectedAt time.Time  `json:"detected_at"`
}

// Key identifies the pair of uses, whatever order they arrive in.
func (d DoubleEntry) Key() string { return pairKey(d.Local.Nonce, d.Peer.Nonce) }

// Problem is the status line of a double entry: the code's hash prefix
// (never the code), both kiosks and both times.
func (d DoubleEntry) Problem() string {
	return fmt.Sprintf("fleet: double entry of code %.8s: %s at %s and %s at %s",
		d.Hash, d.Local.Kiosk, d.Local.At.Format(time.RFC3339), d.Peer.Kiosk, d.Peer.At.Format(time.RFC3339))
}

func pairKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	sum := sha256.Sum256([]byte(a + "\x00" + b))
	return hex.EncodeToString(sum[:16])
}

// doubleEntryNonce is the nonce of kiosk self's report of the double entry
// with pair key key: stable (a re-detection is the same event) and distinct
// from the other kiosk's report of the same pair.
func doubleEntryNonce(key, self string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + self))
	return "de-" + hex.EncodeToString(sum[:16])
}

// ConflictFunc says whether two uses of one code (this kiosk's and a
// peer's) break the venue's policy, e.g. both entries of a single-use code.
type ConflictFunc func(local, peer Redemption) bool

// PeerApply is the outcome of ApplyPeerRedemption.
type PeerApply struct {
	// Applied is false when the redemption's nonce was already recorded.
	Applied bool
	// DoubleEntries are the double entries found now for the first time.
	DoubleEntries []DoubleEntry
}

// EnableFleetOutbox creates the fleet's buckets; from then on Redeem queues
// every local redemption for the fleet. Redemptions kept by an earlier
// DisableFleetOutbox are published with the new ones. Idempotent.
func (s *Store) EnableFleetOutbox() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := createFleetBuckets(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketFleetMeta).Delete(keyFleetOff)
	})
	if err != nil {
		return fmt.Errorf("enabling fleet outbox: %w", err)
	}
	return nil
}

// DisableFleetOutbox stops queueing local redemptions for the fleet (a kiosk
// taken out of a fleet, or a config that lost its fleet.broker). Local
// redemptions still waiting for the broker are kept, with the remembered
// uses and double entries, and pending says how many: a reload with the
// broker back publishes them, DropFleetOutbox discards them. With none
// waiting the fleet's buckets are deleted. Idempotent.
func (s *Store) DisableFleetOutbox() (pending int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		if out := tx.Bucket(bucketFleetOutbox); out != nil {
			if k, _ := out.Cursor().First(); k != nil {
				pending = int(getUint(tx.Bucket(bucketFleetMeta), keyFleetPending))
				return putUint(tx.Bucket(bucketFleetMeta), keyFleetOff, 1)
			}
		}
		return deleteFleetBuckets(tx)
	})
	if err != nil {
		return 0, fmt.Errorf("disabling fleet outbox: %w", err)
	}
	return pending, nil
}

// DropFleetOutbox discards the local redemptions waiting for the fleet
// broker, on an operator's say-so (the broker is gone for good), and
// returns how many; they are counted as dropped. When queueing is off
// (DisableFleetOutbox) the fleet's buckets go too. The other kiosks never
// learn of these uses: each may accept those codes once more.
func (s *Store) DropFleetOutbox() (dropped int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		out, meta := tx.Bucket(bucketFleetOutbox), tx.Bucket(bucketFleetMeta)
		if out == nil || meta == nil {
			return nil
		}
		c := out.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
			dropped++
		}
		if meta.Get(keyFleetOff) != nil {
			return deleteFleetBuckets(tx)
		}
		if err := putUint(meta, keyFleetDropped, getUint(meta, keyFleetDropped)+uint64(dropped)); err != nil {
			return err
		}
		return putUint(meta, keyFleetPending, 0)
	})
	if err != nil {
		return 0, fmt.Errorf("dropping the fleet outbox: %w", err)
	}
	return dropped, nil
}

func deleteFleetBuckets(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketFleetOutbox, bucketFleetUses, bucketFleetConflicts, bucketFleetMeta} {
		if err := tx.DeleteBucket(b); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return fmt.Errorf("deleting bucket %s: %w", b, err)
		}
	}
	return nil
}

// fleetQueueTx is called by Redeem, in its transaction, before the
// redemption is recorded: a new local redemption is queued for the fleet and
// remembered as a use. It does nothing without EnableFleetOutbox, after
// DisableFleetOutbox, for a nonce already recorded (a repeat), or for a
// peer's redemption.
func (s *Store) fleetQueueTx(tx *bolt.Tx, key []byte, r Redemption) error {
	out, meta := tx.Bucket(bucketFleetOutbox), tx.Bucket(bucketFleetMeta)
	if out == nil || meta == nil || meta.Get(keyFleetOff) != nil || r.Peer || tx.Bucket(bucketRedeemed).Get([]byte(r.Nonce)) != nil {
		return nil
	}
	r.Hash = hex.EncodeToString(key)
	if _, err := addUse(tx, key, r); err != nil {
		return err
	}
	v, err := json.Marshal(FleetItem{Redemption: r})
	if err != nil {
		return fmt.Errorf("encoding fleet item: %w", err)
	}
	pending := getUint(meta, keyFleetPending)
	var dropped uint64
	c := out.Cursor()
	for k, _ := c.First(); k != nil && pending >= uint64(s.opt.MaxPendingEvents); k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		pending--
		dropped++
	}
	if dropped > 0 {
		if err := putUint(meta, keyFleetDropped, getUint(meta, keyFleetDropped)+dropped); err != nil {
			return err
		}
	}
	seq, err := out.NextSequence()
	if err != nil {
		return err
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	out.FillPercent = 1.0
	if err := out.Put(k[:], v); err != nil {
		return err
	}
	return putUint(meta, keyFleetPending, pending+1)
}

// use is one remembered use of a code, compact because a venue may hold
// hundreds of thousands.
type use struct {
	Kiosk string `json:"k"`
	At    int64  `json:"t"` // Unix nanoseconds
	Nonce string `json:"n"`
	Dir   string `json:"d,omitempty"`
	Peer  bool   `json:"p,omitempty"`
}

func (u use) redemption(hash string) Redemption {
	return Redemption{Hash: hash, At: nsTime(u.At), Kiosk: u.Kiosk, Direction: u.Dir, Nonce: u.Nonce, Peer: u.Peer}
}

// addUse remembers r as a use of the code and returns the uses known before it.
func addUse(tx *bolt.Tx, key []byte, r Redemption) ([]use, error) {
	b := tx.Bucket(bucketFleetUses)
	var uses []use
	if v := b.Get(key); v != nil {
		if err := json.Unmarshal(v, &uses); err != nil {
			// A corrupt list only weakens detection; start it afresh.
			uses = nil
		}
	}
	before := slices.Clone(uses)
	uses = append(uses, use{Kiosk: r.Kiosk, At: timeNs(r.At), Nonce: r.Nonce, Dir: r.Direction, Peer: r.Peer})
	if len(uses) > FleetUsesKept {
		uses = uses[len(uses)-FleetUsesKept:]
	}
	v, err := json.Marshal(uses)
	if err != nil {
		return nil, fmt.Errorf("encoding uses: %w", err)
	}
	return before, b.Put(key, v)
}

// ApplyPeerRedemption records a redemption that another kiosk of the fleet
// made, by code hash, so that this kiosk's policy treats it like its own
// (single use, cooldown, anti-passback). It is idempotent by r.Nonce: a
// message delivered twice is applied once. When the peer's use conflicts
// with a use made here (conflict reports it), one DoubleEntry per pair of
// uses is recorded, with a KindDoubleEntry event in the outbox for upload,
// in the same fsync'd transaction; a pair already recorded is not reported again.
// self is this kiosk's id; now stamps DetectedAt.
func (s *Store) ApplyPeerRedemption(ctx context.Context, r Redemption, self string, now time.Time, conflict ConflictFunc) (PeerApply, error) {
	res, err := s.ApplyPeerRedemptions(ctx, []Redemption{r}, self, now, conflict)
	if err != nil {
		return PeerApply{}, err
	}
	return res[0], nil
}

// ApplyPeerRedemptions is ApplyPeerRedemption for several redemptions in one
// fsync'd transaction (a backlog after a partition); results are in order.
// One invalid redemption fails the whole call before anything is written.
func (s *Store) ApplyPeerRedemptions(ctx context.Context, rs []Redemption, self string, now time.Time, conflict ConflictFunc) ([]PeerApply, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("applying peer redemptions: %w", err)
	}
	keys := make([][32]byte, len(rs))
	hashes := make([]string, len(rs))
	for i := range rs {
		if err := decodeHash(&keys[i], rs[i].Hash); err != nil {
			return nil, fmt.Errorf("applying peer redemption: %w", err)
		}
		if rs[i].Nonce == "" {
			return nil, errors.New("applying peer redemption: no nonce")
		}
		rs[i].Peer = true
		hashes[i] = rs[i].Hash
	}
	// The verifier's per-code lock: a peer's use lands either before a
	// local decision (which then rejects) or after its redemption (and is
	// then found as a double entry), never in between.
	defer s.lockCodes(hashes)()
	res := make([]PeerApply, len(rs))
	// Update, not Batch: the fleet applies from one goroutine, so Batch
	// would only add its MaxBatchDelay (10 ms).
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := createFleetBuckets(tx); err != nil {
			return err
		}
		for i, r := range rs {
			var err error
			if res[i], err = s.applyPeerTx(tx, keys[i][:], r, self, now, conflict); err != nil {
				return fmt.Errorf("redemption %.12s: %w", r.Hash, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("applying peer redemptions: %w", err)
	}
	return res, nil
}

func (s *Store) applyPeerTx(tx *bolt.Tx, key []byte, r Redemption, self string, now time.Time, conflict ConflictFunc) (PeerApply, error) {
	var res PeerApply
	if tx.Bucket(bucketRedeemed).Get([]byte(r.Nonce)) != nil {
		return res, nil
	}
	before, err := addUse(tx, key, r)
	if err != nil {
		return res, err
	}
	if len(before) == 0 {
		// A use made here before the fleet was enabled is in the ledger only.
		if v := tx.Bucket(bucketRedemptions).Get(key); v != nil {
			if st, err := decodeState(v); err == nil && st.LastUse.Nonce != "" && !st.LastUse.Peer {
				lu := st.LastUse
				before = append(before, use{Kiosk: lu.Kiosk, At: timeNs(lu.At), Nonce: lu.Nonce, Dir: lu.Direction})
			}
		}
	}
	if err := redeemTx(tx, key, r); err != nil {
		return res, err
	}
	res.Applied = true
	confs := tx.Bucket(bucketFleetConflicts)
	for _, u := range before {
		if u.Peer || u.Kiosk != self || conflict == nil {
			continue
		}
		local := u.redemption(r.Hash)
		if !conflict(local, r) {
			continue
		}
		d := DoubleEntry{Hash: r.Hash, Local: local, Peer: r, DetectedAt: now.UTC()}
		pk := []byte(d.Key())
		if confs.Get(pk) != nil {
			continue
		}
		v, err := json.Marshal(d)
		if err != nil {
			return res, fmt.Errorf("encoding double entry: %w", err)
		}
		if err := confs.Put(pk, v); err != nil {
			return res, err
		}
		// Both kiosks of the pair report the incident: each report has its
		// own nonce (a receiver deduplicating on nonces keeps both) and the
		// pair's key as the shared incident id.
		ev := Event{
			Nonce: doubleEntryNonce(d.Key(), self), Incident: "de-" + d.Key(), Time: d.DetectedAt, Kiosk: self,
			Kind: KindDoubleEntry, Reason: string(KindDoubleEntry), Hash: r.Hash,
			Detail: fmt.Sprintf("%s at %s; %s at %s", local.Kiosk, local.At.UTC().Format(time.RFC3339Nano),
				r.Kiosk, r.At.UTC().Format(time.RFC3339Nano)),
		}
		evVal, err := encodeEvent(ev)
		if err != nil {
			return res, err
		}
		if err := s.appendEventTx(tx, ev.Nonce, evVal); err != nil {
			return res, err
		}
		res.DoubleEntries = append(res.DoubleEntries, d)
	}
	return res, nil
}

// lockCodes takes the LockCode stripes of several hashes, each once and in
// order (so two callers cannot deadlock), and returns the unlock.
func (s *Store) lockCodes(hashes []string) (unlock func()) {
	idx := make([]int, 0, len(hashes))
	for _, h := range hashes {
		idx = append(idx, codeStripe(h, len(s.codeLocks)))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		s.codeLocks[i].Lock()
	}
	return func() {
		for _, i := range idx {
			s.codeLocks[i].Unlock()
		}
	}
}

// codeStripe must match LockCode's choice of mutex (TestLockCodesMatchesLockCode).
func codeStripe(hash string, n int) int {
	var h uint8
	if len(hash) >= 2 {
		h = hash[0]*31 + hash[1]
	}
	return int(h % uint8(n))
}

func createFleetBuckets(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketFleetOutbox, bucketFleetUses, bucketFleetConflicts, bucketFleetMeta} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("creating bucket %s: %w", b, err)
		}
	}
	return nil
}

// PendingFleet returns up to max local redemptions waiting for the fleet
// broker, oldest first.
func (s *Store) PendingFleet(max int) ([]FleetItem, error) {
	var out []FleetItem
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFleetOutbox)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			var it FleetItem
			if err := json.Unmarshal(v, &it); err != nil {
				s.log.Warn("skipping corrupt fleet outbox entry", "key", binary.BigEndian.Uint64(k), "err", err)
				continue
			}
			it.Seq = binary.BigEndian.Uint64(k)
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading fleet outbox: %w", err)
	}
	return out, nil
}

// AckFleet removes published items (by Seq) from the fleet outbox; unknown
// ones are ignored. Corrupt entries skipped by PendingFleet stay until the
// outbox bound drops them.
func (s *Store) AckFleet(seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFleetOutbox)
		if b == nil {
			return nil
		}
		meta := tx.Bucket(bucketFleetMeta)
		pending := getUint(meta, keyFleetPending)
		var k [8]byte
		for _, seq := range seqs {
			binary.BigEndian.PutUint64(k[:], seq)
			if b.Get(k[:]) == nil {
				continue
			}
			if err := b.Delete(k[:]); err != nil {
				return err
			}
			if pending > 0 {
				pending--
			}
		}
		return putUint(meta, keyFleetPending, pending)
	})
	if err != nil {
		return fmt.Errorf("acknowledging fleet items: %w", err)
	}
	return nil
}

// FleetCounts is the fleet outbox's state.
type FleetCounts struct {
	Pending int    // local redemptions not yet acknowledged by the broker
	Dropped uint64 // dropped, ever, because the fleet outbox was full
}

// FleetCounts returns the fleet outbox's pending and dropped counts.
func (s *Store) FleetCounts() (FleetCounts, error) {
	var fc FleetCounts
	err := s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketFleetMeta)
		if m == nil {
			return nil
		}
		fc.Pending = int(getUint(m, keyFleetPending))
		fc.Dropped = getUint(m, keyFleetDropped)
		return nil
	})
	if err != nil {
		return FleetCounts{}, fmt.Errorf("reading fleet counts: %w", err)
	}
	return fc, nil
}

// DoubleEntries returns the recorded double entries, newest first, at most max.
func (s *Store) DoubleEntries(max int) ([]DoubleEntry, error) {
	var out []DoubleEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFleetConflicts)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var d DoubleEntry
			if json.Unmarshal(v, &d) == nil {
				out = append(out, d)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading double entries: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DetectedAt.After(out[j].DetectedAt) })
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}
