package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrSnapshotDone is returned when a Snapshot is used after Commit or Abort.
var ErrSnapshotDone = errors.New("snapshot already committed or aborted")

// Snapshot is a complete new cache being written beside the serving one.
// Records are buffered and written in batches of Options.SnapshotBatch, each
// batch its own transaction into a bucket that nothing reads, so memory stays
// bounded however many records stream in. Commit swaps it in with one
// transaction; until then Lookup keeps serving the old cache. A Snapshot is
// used by one goroutine; only one can be open per Store at a time.
type Snapshot struct {
	s    *Store
	base []byte // the name all of this snapshot's buckets start with
	name []byte // the bucket that becomes the cache
	done bool
	keys [][32]byte
	ends []int // ends[i] is where value i ends in vals
	vals []byte
	runs [][]byte      // names of sorted-run buckets, in write order
	own  *ownersWriter // badge owners, if any (owners.go)
}

// NewSnapshot starts writing a new cache. Call Commit or Abort exactly once.
func (s *Store) NewSnapshot() (*Snapshot, error) {
	s.mu.Lock()
	if s.snapBusy {
		s.mu.Unlock()
		return nil, ErrSnapshotBusy
	}
	s.snapBusy = true
	s.mu.Unlock()
	var name []byte
	var dropped []string
	err := s.db.Update(func(tx *bolt.Tx) error {
		// A snapshot whose Abort failed (a full disk: even deleting needs
		// pages) is still in the file; without this it would hold its
		// space until the next Open, and every failed sync would add one.
		var err error
		if dropped, err = dropStaleSnapshots(tx); err != nil {
			return err
		}
		seq, err := tx.Bucket(bucketMeta).NextSequence()
		if err != nil {
			return err
		}
		name = fmt.Appendf(nil, "%s%016x", snapPrefix, seq)
		_, err = tx.CreateBucket(name)
		return err
	})
	if err != nil {
		s.release()
		return nil, fmt.Errorf("starting snapshot: %w", err)
	}
	if len(dropped) > 0 {
		s.log.Info("dropped abandoned snapshots", "buckets", dropped)
	}
	return &Snapshot{s: s, name: name, base: name}, nil
}

func (s *Store) release() {
	s.mu.Lock()
	s.snapBusy = false
	s.mu.Unlock()
}

// Put adds one record (a later Put of the same hash replaces the earlier).
func (sn *Snapshot) Put(r Record) error {
	if sn.done {
		return ErrSnapshotDone
	}
	var key [32]byte
	if err := decodeHash(&key, r.Hash); err != nil {
		return fmt.Errorf("snapshot record: %w", err)
	}
	sn.keys = append(sn.keys, key)
	sn.vals = encodeRecord(sn.vals, r)
	return sn.added()
}

// putBody adds a record whose body (appendRecordBody's encoding) was already
// validated: the import path, which need not decode and re-encode.
func (sn *Snapshot) putBody(key *[32]byte, body []byte) error {
	if sn.done {
		return ErrSnapshotDone
	}
	sn.keys = append(sn.keys, *key)
	sn.vals = append(sn.vals, recordV1)
	sn.vals = append(sn.vals, body...)
	return sn.added()
}

func (sn *Snapshot) added() error {
	sn.ends = append(sn.ends, len(sn.vals))
	if len(sn.keys) >= sn.s.opt.SnapshotBatch {
		return sn.flush()
	}
	return nil
}

// flush writes the buffered records, sorted, in one transaction. While
// batches arrive in ascending key order (an import of an export) they are
// appended to the snapshot bucket itself. Once one does not, it and every
// later batch become sorted runs in buckets of their own, merged at Commit:
// random inserts into a large B+tree would rewrite most of its pages on every
// batch, while appends and a merge write each page about twice.
func (sn *Snapshot) flush() error {
	if len(sn.keys) == 0 {
		return nil
	}
	idx := make([]int32, len(sn.keys))
	for i := range idx {
		idx[i] = int32(i)
	}
	// Stable, so the later of two Puts of one hash is written last and wins.
	slices.SortStableFunc(idx, func(a, b int32) int { return bytes.Compare(sn.keys[a][:], sn.keys[b][:]) })
	err := sn.s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(sn.name)
		if b == nil {
			return errors.New("snapshot bucket vanished")
		}
		if k, _ := b.Cursor().Last(); len(sn.runs) > 0 || (k != nil && bytes.Compare(sn.keys[idx[0]][:], k) <= 0) {
			name := fmt.Appendf(nil, "%s.run%04d", sn.name, len(sn.runs))
			var err error
			if b, err = tx.CreateBucket(name); err != nil {
				return err
			}
			sn.runs = append(sn.runs, name)
		}
		b.FillPercent = 1.0 // sorted appends: pack pages full
		for _, i := range idx {
			start := 0
			if i > 0 {
				start = sn.ends[i-1]
			}
			if err := b.Put(sn.keys[i][:], sn.vals[start:sn.ends[i]]); err != nil {
				return err
			}
		}
		return nil
	})
	sn.keys, sn.ends, sn.vals = sn.keys[:0], sn.ends[:0], sn.vals[:0]
	if err != nil {
		return fmt.Errorf("writing snapshot batch: %w", err)
	}
	return nil
}

// merge combines the snapshot bucket and its runs into a new bucket in key
// order, SnapshotBatch records per transaction (bounded memory), and makes it
// the snapshot bucket. Where sources share a key the latest source wins.
func (sn *Snapshot) merge() error {
	if len(sn.runs) == 0 {
		return nil
	}
	srcs := append([][]byte{sn.name}, sn.runs...)
	dst := fmt.Appendf(nil, "%s.merged", sn.name)
	pos := make([][]byte, len(srcs)) // last key consumed from each source
	done := false
	first := true
	for !done {
		err := sn.s.db.Update(func(tx *bolt.Tx) error {
			var out *bolt.Bucket
			var err error
			if first {
				out, err = tx.CreateBucket(dst)
			} else {
				out = tx.Bucket(dst)
			}
			if err != nil || out == nil {
				return fmt.Errorf("merge bucket: %v", err)
			}
			out.FillPercent = 1.0
			curs := make([]*bolt.Cursor, len(srcs))
			heads := make([][2][]byte, len(srcs)) // key, value; nil key = exhausted
			for i, name := range srcs {
				b := tx.Bucket(name)
				if b == nil {
					return errors.New("snapshot run vanished")
				}
				curs[i] = b.Cursor()
				var k, v []byte
				if pos[i] == nil {
					k, v = curs[i].First()
				} else if k, v = curs[i].Seek(pos[i]); k != nil && bytes.Equal(k, pos[i]) {
					k, v = curs[i].Next()
				}
				heads[i] = [2][]byte{k, v}
			}
			for n := 0; n < sn.s.opt.SnapshotBatch; n++ {
				var min []byte
				for _, h := range heads {
					if h[0] != nil && (min == nil || bytes.Compare(h[0], min) < 0) {
						min = h[0]
					}
				}
				if min == nil {
					done = true
					break
				}
				var val []byte
				for i, h := range heads {
					if h[0] != nil && bytes.Equal(h[0], min) {
						val = h[1] // later sources overwrite earlier ones
						pos[i] = append(pos[i][:0], h[0]...)
						k, v := curs[i].Next()
						heads[i] = [2][]byte{k, v}
					}
				}
				if err := out.Put(min, val); err != nil {
					return err
				}
			}
			first = false
			if done {
				for _, name := range srcs {
					if err := tx.DeleteBucket(name); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("merging snapshot runs: %w", err)
		}
	}
	sn.name, sn.runs = dst, nil
	return nil
}

// Distinct writes what is buffered and counts the distinct codes the
// snapshot holds so far: a hash Put twice (a server repeating pages) counts
// once. The sync uses it to judge a snapshot before Commit swaps it in.
// Puts may continue afterwards.
func (sn *Snapshot) Distinct() (int, error) {
	if sn.done {
		return 0, ErrSnapshotDone
	}
	if err := sn.flush(); err != nil {
		return 0, err
	}
	// Runs may repeat each other's keys: merged, each key is there once.
	if err := sn.merge(); err != nil {
		return 0, err
	}
	var n int
	err := sn.s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(sn.name)
		if b == nil {
			return errors.New("snapshot bucket vanished")
		}
		n = b.Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counting snapshot records: %w", err)
	}
	return n, nil
}

// Commit writes what is left and makes this snapshot the serving cache in one
// transaction (fsync'd), dropping the old one. info.At is also observed as
// trusted time, within bounds (see commitClock). On error the old cache keeps serving and the snapshot is aborted.
func (sn *Snapshot) Commit(info SyncInfo) error {
	if sn.done {
		return ErrSnapshotDone
	}
	if err := sn.flush(); err != nil {
		sn.abort()
		return err
	}
	if err := sn.merge(); err != nil {
		sn.abort()
		return err
	}
	if err := sn.flushOwners(); err != nil {
		sn.abort()
		return err
	}
	var meta Meta
	now := sn.s.now()
	sn.s.mu.Lock()
	bound := sn.s.boundLocked(now)
	sn.s.mu.Unlock()
	err := sn.s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(sn.name)
		if b == nil {
			return errors.New("snapshot bucket vanished")
		}
		m := tx.Bucket(bucketMeta)
		if old := m.Get(keyActive); old != nil && tx.Bucket(old) != nil {
			if err := tx.DeleteBucket(old); err != nil {
				return fmt.Errorf("dropping old snapshot: %w", err)
			}
		}
		if err := m.Put(keyActive, sn.name); err != nil {
			return err
		}
		if err := putUint(m, keyCount, uint64(b.Stats().KeyN)); err != nil {
			return err
		}
		putTime(m, keyLastSync, sn.s.commitClock(m, info.At, info.Source, now, bound))
		putTime(m, keyServerTime, info.ServerTime)
		if err := m.Put(keySource, []byte(info.Source)); err != nil {
			return err
		}
		if err := sn.commitOwners(tx, m, getTime(m, keyLastSync)); err != nil {
			return err
		}
		meta = readMeta(m)
		return nil
	})
	if err != nil {
		sn.abort()
		return fmt.Errorf("committing snapshot: %w", err)
	}
	sn.done = true
	sn.s.mu.Lock()
	sn.s.setFloorLocked(meta.TrustedTime, now)
	sn.s.meta = meta
	sn.s.snapBusy = false
	sn.s.mu.Unlock()
	sn.s.log.Info("cache snapshot committed", "count", meta.Count, "source", meta.Source, "last_sync", meta.LastSync)
	sn.s.maybePrune(meta.TrustedTime)
	return nil
}

// maybePrune forgets old redemption nonces, at most once a day (syncs run
// every few minutes; the scan is not worth repeating that often).
func (s *Store) maybePrune(now time.Time) {
	if now.IsZero() {
		return
	}
	s.mu.Lock()
	due := s.lastPrune.IsZero() || now.Sub(s.lastPrune) >= 24*time.Hour
	if due {
		s.lastPrune = now
	}
	s.mu.Unlock()
	if !due {
		return
	}
	n, err := s.PruneRedeemedNonces(now.Add(-s.opt.NonceRetention))
	if err != nil {
		s.log.Warn("pruning redemption nonces", "err", err)
		return
	}
	if n > 0 {
		s.log.Info("pruned old redemption nonces", "count", n)
	}
}

// Abort drops the snapshot; the old cache keeps serving. Abort after Commit
// or Abort is a no-op.
func (sn *Snapshot) Abort() error {
	if sn.done {
		return nil
	}
	return sn.abort()
}

func (sn *Snapshot) abort() error {
	sn.done = true
	sn.keys, sn.ends, sn.vals = nil, nil, nil
	defer sn.s.release()
	err := sn.s.db.Update(func(tx *bolt.Tx) error {
		// The snapshot bucket, its runs and a partial merge share the prefix.
		var names [][]byte
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if bytes.HasPrefix(name, sn.base) {
				names = append(names, bytes.Clone(name))
			}
			return nil
		})
		for _, name := range names {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Open garbage-collects it later; the serving cache is untouched.
		return fmt.Errorf("aborting snapshot: %w", err)
	}
	return nil
}
