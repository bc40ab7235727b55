package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketOnce holds keys that may be used once (the display mode's Authsignal
// idempotency keys), each with the time it was used.
var bucketOnce = []byte("once")

// UseOnce records key and reports whether it is new: false means it was used
// before and whatever it stands for must be refused. Keys older than keep
// are forgotten (a token's lifetime is enough). The write is durable before
// UseOnce returns, so a restart cannot make a used key new again.
func (s *Store) UseOnce(ctx context.Context, key string, keep time.Duration) (fresh bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := time.Now()
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketOnce)
		if err != nil {
			return err
		}
		if b.Get([]byte(key)) != nil {
			return nil
		}
		fresh = true
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], uint64(now.UnixNano()))
		if err := b.Put([]byte(key), v[:]); err != nil {
			return err
		}
		// Forget the expired keys; the bucket stays a few hundred entries.
		c := b.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			if len(val) == 8 && now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(val)))) > keep {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: recording a one-time key: %w", err)
	}
	return fresh, nil
}
