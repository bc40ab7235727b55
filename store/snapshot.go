package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

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
	name []byte
	done bool
	keys [][32]byte
	ends []int // ends[i] is where value i ends in vals
	vals []byte
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
	err := s.db.Update(func(tx *bolt.Tx) error {
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
	return &Snapshot{s: s, name: name}, nil
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

// flush writes the buffered records, sorted, in one transaction.
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
		// Records arriving in key order (an import of an export) are pure
		// appends: pack pages full. Random order keeps bbolt's default.
		if k, _ := b.Cursor().Last(); k == nil || bytes.Compare(sn.keys[idx[0]][:], k) > 0 {
			b.FillPercent = 1.0
		}
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

// Commit writes what is left and makes this snapshot the serving cache in one
// transaction (fsync'd), dropping the old one. info.At is also observed as
// trusted time. On error the old cache keeps serving and the snapshot is aborted.
func (sn *Snapshot) Commit(info SyncInfo) error {
	if sn.done {
		return ErrSnapshotDone
	}
	if err := sn.flush(); err != nil {
		sn.abort()
		return err
	}
	var meta Meta
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
		putTime(m, keyLastSync, info.At)
		putTime(m, keyServerTime, info.ServerTime)
		if err := m.Put(keySource, []byte(info.Source)); err != nil {
			return err
		}
		observeTime(m, info.At)
		meta = readMeta(m)
		return nil
	})
	if err != nil {
		sn.abort()
		return fmt.Errorf("committing snapshot: %w", err)
	}
	sn.done = true
	sn.s.mu.Lock()
	sn.s.meta = meta
	sn.s.snapBusy = false
	sn.s.mu.Unlock()
	sn.s.log.Info("cache snapshot committed", "count", meta.Count, "source", meta.Source, "last_sync", meta.LastSync)
	return nil
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
		if tx.Bucket(sn.name) == nil {
			return nil
		}
		return tx.DeleteBucket(sn.name)
	})
	if err != nil {
		// Open garbage-collects it later; the serving cache is untouched.
		return fmt.Errorf("aborting snapshot: %w", err)
	}
	return nil
}
