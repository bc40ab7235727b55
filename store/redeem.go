package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Directions of a scan at a door with anti-passback.
const (
	DirEntry = "entry"
	DirExit  = "exit"
)

// Redemption is one use of a code that opened the door (or was learned from a
// peer kiosk). Its Nonce is shared with the event that reports it.
type Redemption struct {
	Hash      string
	At        time.Time
	Kiosk     string
	Direction string // "entry", "exit" or ""
	Nonce     string
	Peer      bool // learned from another kiosk, not redeemed here
	// Holder is set on a local redemption that counted a loyalty visit
	// (visits.go): the fleet shares the visit with it. Not kept in the
	// redemption state.
	Holder string `json:",omitempty"`
}

// RedemptionState is what the re-use and anti-passback policies need about a code.
type RedemptionState struct {
	// Count is how many uses (entries or undirected scans) were recorded; exits are not uses.
	Count uint64
	// Inside is true after an entry and false after an exit.
	Inside bool
	// Last is the latest redemption of any direction.
	Last Redemption
	// LastUse is the latest redemption that was not an exit.
	LastUse Redemption
}

// Redeem durably records a redemption together with its event, in one
// transaction, and returns only once it is fsync'd: call it before the door
// opens. A lone caller commits at once; concurrent callers are coalesced
// into one fsync (bbolt DB.Batch, waiting at most 2 ms for company).
// A redemption whose nonce is already recorded is ignored (idempotent, for
// peers that repeat themselves). If r.Nonce is empty, ev.Nonce is used; if both
// are empty a new nonce is made.
func (s *Store) Redeem(ctx context.Context, r Redemption, ev Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recording redemption: %w", err)
	}
	var key [32]byte
	if err := decodeHash(&key, r.Hash); err != nil {
		return fmt.Errorf("recording redemption: %w", err)
	}
	if r.Nonce == "" {
		r.Nonce = ev.Nonce
	}
	if r.Nonce == "" {
		r.Nonce = NewNonce()
	}
	if ev.Nonce == "" {
		ev.Nonce = r.Nonce
	}
	evVal, err := encodeEvent(ev)
	if err != nil {
		return fmt.Errorf("recording redemption: %w", err)
	}
	err = s.coalesced(func(tx *bolt.Tx) error {
		// Queue for the fleet first: it skips a nonce already recorded (fleet.go).
		if err := s.fleetQueueTx(tx, key[:], r); err != nil {
			return err
		}
		if err := redeemTx(tx, key[:], r); err != nil {
			return err
		}
		return s.appendEventTx(tx, ev.Nonce, evVal)
	})
	if err != nil {
		return fmt.Errorf("recording redemption: %w", err)
	}
	return nil
}

func redeemTx(tx *bolt.Tx, key []byte, r Redemption) error {
	nonces := tx.Bucket(bucketRedeemed)
	if nonces.Get([]byte(r.Nonce)) != nil {
		return nil
	}
	b := tx.Bucket(bucketRedemptions)
	var st RedemptionState
	if v := b.Get(key); v != nil {
		var err error
		if st, err = decodeState(v); err != nil {
			return fmt.Errorf("redemption state: %w", err)
		}
	}
	newest := st.Last.Nonce == "" || !r.At.Before(st.Last.At)
	if newest {
		st.Last = r
		switch r.Direction {
		case DirEntry:
			st.Inside = true
		case DirExit:
			st.Inside = false
		}
	}
	if r.Direction != DirExit {
		st.Count++
		if st.LastUse.Nonce == "" || !r.At.Before(st.LastUse.At) {
			st.LastUse = r
		}
	}
	if err := b.Put(key, encodeState(st)); err != nil {
		return err
	}
	// sha256 key, then the redemption time, so old nonces can be pruned.
	v := make([]byte, 0, 40)
	v = append(v, key...)
	v = binary.BigEndian.AppendUint64(v, uint64(timeNs(r.At)))
	return nonces.Put([]byte(r.Nonce), v)
}

// PruneRedeemedNonces forgets the nonces of redemptions made before t (the
// per-code redemption state is kept; only replay protection for those old
// nonces goes). It works in bounded transactions and returns how many it
// removed. Commit calls it about once a day with Options.NonceRetention.
func (s *Store) PruneRedeemedNonces(before time.Time) (int, error) {
	return s.pruneNonces(before, pruneChunk)
}

func (s *Store) pruneNonces(before time.Time, chunk int) (int, error) {
	limit := timeNs(before)
	total := 0
	var from []byte
	for {
		var old [][]byte
		var next []byte
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketRedeemed)
			c := b.Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			// Collect, then delete: deleting under a moving cursor is fragile.
			for ; k != nil; k, v = c.Next() {
				if len(old) == chunk {
					next = bytes.Clone(k)
					break
				}
				var at int64
				if len(v) == 40 {
					at = int64(binary.BigEndian.Uint64(v[32:]))
				}
				if at < limit {
					old = append(old, bytes.Clone(k))
				}
			}
			for _, k := range old {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("pruning redemption nonces: %w", err)
		}
		total += len(old)
		if next == nil {
			return total, nil
		}
		from = next
	}
}

// pruneChunk bounds the deletions of one pruning transaction.
const pruneChunk = 10000

// LastRedemption returns the latest redemption of a code hash.
func (s *Store) LastRedemption(hash string) (Redemption, bool, error) {
	st, ok, err := s.RedemptionState(hash)
	return st.Last, ok, err
}

// RedemptionState returns a code hash's redemption state.
func (s *Store) RedemptionState(hash string) (RedemptionState, bool, error) {
	var key [32]byte
	if err := decodeHash(&key, hash); err != nil {
		return RedemptionState{}, false, err
	}
	var st RedemptionState
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketRedemptions).Get(key[:])
		if v == nil {
			return nil
		}
		var err error
		st, err = decodeState(v)
		ok = err == nil
		return err
	})
	if err != nil {
		return RedemptionState{}, false, fmt.Errorf("reading redemption %.12s: %w", hash, err)
	}
	st.Last.Hash, st.LastUse.Hash = hash, hash
	return st, ok, nil
}

// HasRedemption reports whether a redemption with this nonce was recorded.
func (s *Store) HasRedemption(nonce string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketRedeemed).Get([]byte(nonce)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("reading redemption nonce: %w", err)
	}
	return ok, nil
}
