package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Badge owners: who holds the tokens the venue's access requirements name.
//
// A sync pages the owners of each required token into the same Snapshot as
// the codes (PutOwner, then OwnersSynced with the requirements it covered),
// into a bucket beside the codes' (owners.<seq>, the snapshot's sequence).
// Commit swaps both in one transaction, so a verdict never sees new codes
// with old owners, and a sync that fails part-way through the owners keeps
// the old snapshot whole. An owners bucket that was never committed (an
// aborted sync, a crash) is deleted by the next snapshot that writes owners
// and by the next Commit: only one snapshot is written at a time, so any
// owners bucket but the serving one and its own is an orphan.
// A snapshot without owners (an import, a sync with no requirement)
// leaves none: the verdict then treats the owners as missing.
//
// An online re-check that found a visitor qualifies is kept in
// owners-online until the next Commit replaces the owners.

var (
	bucketOwnersOnline = []byte("owners-online")
	keyOwnersActive    = []byte("owners_active")
	keyOwnersAt        = []byte("owners_at")
	keyOwnersKeys      = []byte("owners_keys")
	keyOwnersCount     = []byte("owners_count")
	// keyOwnersOnline marks that owners-online holds entries, so a verdict
	// looks the bucket up only then (a missing bucket costs a B+tree search).
	keyOwnersOnline = []byte("owners_online")
)

const ownersPrefix = "owners."

// ownersName is the owners bucket of the snapshot whose codes bucket is base.
func ownersName(base []byte) []byte {
	return append([]byte(ownersPrefix), base[len(snapPrefix):]...)
}

// dropOrphanOwners deletes every owners bucket but the serving one and keep.
func dropOrphanOwners(tx *bolt.Tx, keep []byte) error {
	active := tx.Bucket(bucketMeta).Get(keyOwnersActive)
	var orphans [][]byte
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if bytes.HasPrefix(name, []byte(ownersPrefix)) && !bytes.Equal(name, active) && !bytes.Equal(name, keep) {
			orphans = append(orphans, bytes.Clone(name))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range orphans {
		if err := tx.DeleteBucket(name); err != nil {
			return fmt.Errorf("dropping uncommitted owners %s: %w", name, err)
		}
	}
	return nil
}

// Range is an inclusive uint64 range: token ids, or ms ownership times.
type Range struct{ Start, End uint64 }

// Balance is Amount of each token in TokenIDs, owned while the time (Unix
// ms) is inside one of OwnershipTimes.
type Balance struct {
	Amount         uint64
	TokenIDs       []Range
	OwnershipTimes []Range
}

// OwnersInfo describes the owners of the serving snapshot.
type OwnersInfo struct {
	// SyncedAt is when they were complete (the snapshot's LastSync); zero:
	// the serving snapshot has none.
	SyncedAt time.Time
	// Keys name what was fetched, one per requirement (config's
	// Requirement.Key): a requirement whose key is missing has no data.
	Keys []string
	// Owners counts (collection, address) entries.
	Owners int
}

// Has reports whether the owners for requirement key were synced.
func (o OwnersInfo) Has(key string) bool { return slices.Contains(o.Keys, key) }

// Holding is what the store knows of one address in one collection.
type Holding struct {
	Balances []Balance
	// Online: the balances come from an online re-check since the last sync.
	Online bool
}

// ownersWriter buffers a snapshot's owners and writes them in batches.
type ownersWriter struct {
	name []byte // the bucket
	keys [][]byte
	vals [][]byte
	info *OwnersInfo // set by OwnersSynced: the owners are complete
}

func ownerKey(collection, address string) []byte {
	k := make([]byte, 0, len(collection)+1+len(address))
	k = append(k, collection...)
	k = append(k, 0)
	return append(k, address...)
}

// PutOwner adds address's balances in a collection to the snapshot. The
// same address may come once per token it holds: the last Put wins, as
// every copy is the address's whole balance in the collection.
func (sn *Snapshot) PutOwner(collection, address string, bals []Balance) error {
	if sn.done {
		return ErrSnapshotDone
	}
	if collection == "" || address == "" || strings.IndexByte(collection, 0) >= 0 {
		return errors.New("snapshot owner: empty collection or address")
	}
	if sn.own == nil {
		sn.own = &ownersWriter{name: ownersName(sn.base)}
	}
	w := sn.own
	w.keys = append(w.keys, ownerKey(collection, address))
	w.vals = append(w.vals, encodeBalances(nil, bals))
	if len(w.keys) >= sn.s.opt.SnapshotBatch {
		return sn.flushOwners()
	}
	return nil
}

// OwnersSynced marks the snapshot's owners complete for the requirements
// named by keys; Commit then serves them. Without it Commit drops them.
func (sn *Snapshot) OwnersSynced(keys []string) {
	if sn.own == nil {
		sn.own = &ownersWriter{name: ownersName(sn.base)}
	}
	sn.own.info = &OwnersInfo{Keys: slices.Clone(keys)}
}

func (sn *Snapshot) flushOwners() error {
	w := sn.own
	if w == nil {
		return nil
	}
	err := sn.s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(w.name)
		if b == nil {
			// The first batch: a failed sync's owners are garbage now.
			if err := dropOrphanOwners(tx, w.name); err != nil {
				return err
			}
			var err error
			if b, err = tx.CreateBucket(w.name); err != nil {
				return err
			}
		}
		for i, k := range w.keys {
			if err := b.Put(k, w.vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	w.keys, w.vals = w.keys[:0], w.vals[:0]
	if err != nil {
		return fmt.Errorf("writing snapshot owners: %w", err)
	}
	return nil
}

// commitOwners runs inside Commit's transaction: it swaps the owners with
// the codes and forgets the online re-checks of the old ones.
func (sn *Snapshot) commitOwners(tx *bolt.Tx, m *bolt.Bucket, at time.Time) error {
	if old := m.Get(keyOwnersActive); old != nil && tx.Bucket(old) != nil {
		if err := tx.DeleteBucket(old); err != nil {
			return fmt.Errorf("dropping old owners: %w", err)
		}
	}
	if tx.Bucket(bucketOwnersOnline) != nil {
		if err := tx.DeleteBucket(bucketOwnersOnline); err != nil {
			return fmt.Errorf("dropping online re-checks: %w", err)
		}
	}
	for _, k := range [][]byte{keyOwnersActive, keyOwnersAt, keyOwnersKeys, keyOwnersCount, keyOwnersOnline} {
		if err := m.Delete(k); err != nil {
			return err
		}
	}
	w := sn.own
	var keep []byte
	if w != nil && w.info != nil {
		keep = w.name
	}
	if err := dropOrphanOwners(tx, keep); err != nil {
		return err
	}
	if keep == nil {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(w.name)
	if err != nil {
		return err
	}
	if err := m.Put(keyOwnersActive, w.name); err != nil {
		return err
	}
	putTime(m, keyOwnersAt, at)
	if err := m.Put(keyOwnersKeys, []byte(strings.Join(w.info.Keys, "\n"))); err != nil {
		return err
	}
	return putUint(m, keyOwnersCount, uint64(b.Stats().KeyN))
}

// readOwnersInfo describes the serving owners; a bucket that is gone (a
// recovered store copies what it can) reads as no owners at all, never as
// a list nobody is on.
func readOwnersInfo(tx *bolt.Tx) OwnersInfo {
	info, _ := ownersTx(tx, tx.Bucket(bucketMeta))
	return info
}

// ownersTx reads the owners' description and opens their bucket (nil when
// there are none).
func ownersTx(tx *bolt.Tx, m *bolt.Bucket) (OwnersInfo, *bolt.Bucket) {
	name := m.Get(keyOwnersActive)
	if name == nil {
		return OwnersInfo{}, nil
	}
	b := tx.Bucket(name)
	if b == nil {
		return OwnersInfo{}, nil
	}
	info := OwnersInfo{SyncedAt: getTime(m, keyOwnersAt), Owners: int(getUint(m, keyOwnersCount))}
	if k := m.Get(keyOwnersKeys); len(k) > 0 {
		info.Keys = strings.Split(string(k), "\n")
	}
	return info, b
}

// Owners describes the serving snapshot's owners.
func (s *Store) Owners() (OwnersInfo, error) {
	var info OwnersInfo
	err := s.db.View(func(tx *bolt.Tx) error {
		info = readOwnersInfo(tx)
		return nil
	})
	if err != nil {
		return OwnersInfo{}, fmt.Errorf("reading owners info: %w", err)
	}
	return info, nil
}

// InspectHoldings is Inspect that also reads, in the same transaction (so
// from the same snapshot), the owners' description and what the record's
// OwnerAddress holds in each of collections (see Holdings).
func (s *Store) InspectHoldings(hash string, collections []string) (Inspection, OwnersInfo, map[string]Holding, error) {
	var key [32]byte
	if err := decodeHash(&key, hash); err != nil {
		return Inspection{}, OwnersInfo{}, nil, err
	}
	var in Inspection
	var info OwnersInfo
	var hold map[string]Holding
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		in.Record, in.Found, err = lookupTx(tx, key[:], hash)
		if err != nil {
			return err
		}
		if v := tx.Bucket(bucketRedemptions).Get(key[:]); v != nil {
			in.State, err = decodeState(v)
			if err != nil {
				return fmt.Errorf("redemption %.12s: %w", hash, err)
			}
			in.State.Last.Hash, in.State.LastUse.Hash = hash, hash
			in.Redeemed = true
		}
		if in.Found {
			info, hold, err = holdingsTx(tx, in.Record.OwnerAddress(), collections)
		}
		return err
	})
	if err != nil {
		return Inspection{}, OwnersInfo{}, nil, fmt.Errorf("inspecting code: %w", err)
	}
	in.Meta, _ = s.Meta()
	return in, info, hold, nil
}

// Holdings reads, in one transaction, the owners' description and what
// address holds in each of collections (an online re-check since the last
// sync wins over the synced owners). A collection the address holds nothing
// in is absent from the map.
func (s *Store) Holdings(address string, collections []string) (OwnersInfo, map[string]Holding, error) {
	var info OwnersInfo
	var out map[string]Holding
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		info, out, err = holdingsTx(tx, address, collections)
		return err
	})
	if err != nil {
		return OwnersInfo{}, nil, fmt.Errorf("reading holdings: %w", err)
	}
	return info, out, nil
}

func holdingsTx(tx *bolt.Tx, address string, collections []string) (OwnersInfo, map[string]Holding, error) {
	m := tx.Bucket(bucketMeta)
	info, synced := ownersTx(tx, m)
	out := make(map[string]Holding, len(collections))
	var online *bolt.Bucket
	if m.Get(keyOwnersOnline) != nil {
		online = tx.Bucket(bucketOwnersOnline)
	}
	var k []byte
	for _, c := range collections {
		k = append(append(append(k[:0], c...), 0), address...)
		var v []byte
		h := Holding{}
		if online != nil {
			if v = online.Get(k); v != nil {
				h.Online = true
			}
		}
		if v == nil && synced != nil {
			v = synced.Get(k)
		}
		if v == nil {
			continue
		}
		bals, err := decodeBalances(v)
		if err != nil {
			return info, nil, fmt.Errorf("owner %.16s… in collection %s: %w", address, c, err)
		}
		h.Balances = bals
		out[c] = h
	}
	return info, out, nil
}

// PutOnlineHolding durably keeps an online re-check's balances of address
// in a collection until the next Commit replaces the owners.
func (s *Store) PutOnlineHolding(collection, address string, bals []Balance) error {
	err := s.coalesced(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketOwnersOnline)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(keyOwnersOnline, []byte{1}); err != nil {
			return err
		}
		return b.Put(ownerKey(collection, address), encodeBalances(nil, bals))
	})
	if err != nil {
		return fmt.Errorf("keeping online re-check: %w", err)
	}
	return nil
}

// ForEachOwner calls fn for every synced owner of the serving snapshot, in
// one read transaction (bals is valid only during the call).
func (s *Store) ForEachOwner(fn func(collection, address string, bals []Balance) error) error {
	err := s.db.View(func(tx *bolt.Tx) error {
		name := tx.Bucket(bucketMeta).Get(keyOwnersActive)
		if name == nil {
			return nil
		}
		b := tx.Bucket(name)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			c, a, ok := bytes.Cut(k, []byte{0})
			if !ok {
				return fmt.Errorf("owner key %q without collection", k)
			}
			bals, err := decodeBalances(v)
			if err != nil {
				return err
			}
			return fn(string(c), string(a), bals)
		})
	})
	if err != nil {
		return fmt.Errorf("reading owners: %w", err)
	}
	return nil
}

// Balances are stored as uvarints: the count, then per balance the amount,
// the token id ranges and the ownership time ranges (each a count and
// start/end pairs).
func encodeBalances(dst []byte, bals []Balance) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(bals)))
	for _, b := range bals {
		dst = binary.AppendUvarint(dst, b.Amount)
		for _, rs := range [][]Range{b.TokenIDs, b.OwnershipTimes} {
			dst = binary.AppendUvarint(dst, uint64(len(rs)))
			for _, r := range rs {
				dst = binary.AppendUvarint(dst, r.Start)
				dst = binary.AppendUvarint(dst, r.End)
			}
		}
	}
	return dst
}

var errBadBalances = errors.New("corrupt balances")

func decodeBalances(v []byte) ([]Balance, error) {
	next := func() (uint64, bool) {
		n, k := binary.Uvarint(v)
		if k <= 0 {
			return 0, false
		}
		v = v[k:]
		return n, true
	}
	n, ok := next()
	if !ok || n > uint64(len(v)) {
		return nil, errBadBalances
	}
	out := make([]Balance, 0, n)
	for range n {
		var b Balance
		if b.Amount, ok = next(); !ok {
			return nil, errBadBalances
		}
		for _, dst := range []*[]Range{&b.TokenIDs, &b.OwnershipTimes} {
			m, ok := next()
			if !ok || m > uint64(len(v)) {
				return nil, errBadBalances
			}
			rs := make([]Range, m)
			for i := range rs {
				s, ok1 := next()
				e, ok2 := next()
				if !ok1 || !ok2 {
					return nil, errBadBalances
				}
				rs[i] = Range{s, e}
			}
			*dst = rs
		}
		out = append(out, b)
	}
	if len(v) != 0 {
		return nil, errBadBalances
	}
	return out, nil
}

// OwnerAddress is the address the record's holder owns badges under: its
// bitbadgesAddress, or Address when the record came without one (a Cosmos
// address is its own bitbadgesAddress; an imported cache carries Address only).
func (r Record) OwnerAddress() string {
	if r.BitBadgesAddress != "" {
		return r.BitBadgesAddress
	}
	return r.Address
}

// Requirement is one badge a visitor must hold (kioskd's access.require):
// the verifier decides it and the sync fetches its owners, keyed by Key.
type Requirement struct {
	// Name is shown on the screen, in status and in events.
	Name         string
	CollectionID string
	// TokenIDs are inclusive ranges; holding any mix of them counts.
	TokenIDs []Range
	// MinAmount is how many of those tokens together are needed.
	MinAmount uint64
}

// Key identifies what the sync fetched for a requirement: its collection
// and token ids ("1:5,1-10"), as OwnersInfo.Keys holds them. The name is not
// part of it (renaming changes nothing).
func (q Requirement) Key() string {
	ids := make([]string, len(q.TokenIDs))
	for i, r := range q.TokenIDs {
		ids[i] = r.String()
	}
	return q.CollectionID + ":" + strings.Join(ids, ",")
}

// String is the range as the config writes token ids ("5" or "1-10").
func (r Range) String() string {
	if r.Start == r.End {
		return strconv.FormatUint(r.Start, 10)
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End)
}
