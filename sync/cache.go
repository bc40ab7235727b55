package sync

import (
	"time"

	"github.com/kioskd/kioskd/store"
)

// Cache is the part of the store a sync writes to: a new snapshot per
// pre-fetch, the persisted refresh token and the trusted clock.
type Cache interface {
	NewSnapshot() (Snapshot, error)
	Meta() (store.Meta, error)
	RefreshToken() (string, error)
	SetRefreshToken(string) error
	ObserveServerTime(time.Time) (bool, error)
}

// Snapshot is a cache being written: Put every record, then Commit (the
// atomic swap) or Abort (the old cache stays). Distinct counts the codes put
// so far, each once, before the sync decides whether to commit.
type Snapshot interface {
	Put(store.Record) error
	Distinct() (int, error)
	Commit(store.SyncInfo) error
	Abort() error
}

// Outbox is the store's event queue as the uploader sees it.
type Outbox interface {
	PendingEvents(max int) ([]store.Event, error)
	AckEvents(nonces []string) error
	PendingCount() (int, error)
}

// StoreCache adapts a *store.Store to Cache (its NewSnapshot returns the
// concrete *store.Snapshot).
func StoreCache(s *store.Store) Cache { return storeCache{s} }

type storeCache struct{ *store.Store }

func (c storeCache) NewSnapshot() (Snapshot, error) {
	sn, err := c.Store.NewSnapshot()
	if err != nil {
		return nil, err
	}
	return sn, nil
}
