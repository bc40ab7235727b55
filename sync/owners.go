package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
)

// OwnerSnapshot is a Snapshot that also takes badge owners (the store's
// does). A sync with access requirements needs one.
type OwnerSnapshot interface {
	PutOwner(collection, address string, bals []store.Balance) error
	OwnersSynced(keys []string)
}

// OwnersResult describes the owners part of one sync.
type OwnersResult struct {
	Tokens    int // (collection, token) pairs paged
	Pages     int
	Owners    int // owner documents kept (an address is counted once per token it holds)
	Malformed int
}

// tokenRef is one token whose owners a sync pages.
type tokenRef struct {
	collection string
	token      uint64
}

// requiredTokens lists each (collection, token) the requirements name, once.
func requiredTokens(reqs []store.Requirement) []tokenRef {
	seen := map[tokenRef]bool{}
	var out []tokenRef
	for _, q := range reqs {
		for _, r := range q.TokenIDs {
			for t := r.Start; ; t++ {
				ref := tokenRef{q.CollectionID, t}
				if !seen[ref] {
					seen[ref] = true
					out = append(out, ref)
				}
				if t == r.End {
					break
				}
			}
		}
	}
	return out
}

// syncOwners pages the owners of every required token into snap, after the
// codes and before the commit: any failure fails the whole sync, so the old
// snapshot, codes included, keeps serving. ctx carries the sync's time
// bound; maxPages bounds the owner pages of all the tokens together.
func (s *Syncer) syncOwners(ctx context.Context, snap Snapshot, maxPages int) (OwnersResult, error) {
	var res OwnersResult
	if len(s.Require) == 0 {
		return res, nil
	}
	os, ok := snap.(OwnerSnapshot)
	if !ok {
		return res, fmt.Errorf("%w: this cache cannot hold badge owners", errSnapshot)
	}
	start := s.clock().Now()
	for _, ref := range requiredTokens(s.Require) {
		st, err := s.Client.Owners(ctx, ref.collection, ref.token, maxPages-res.Pages, func(o bitbadges.Owner) error {
			if err := os.PutOwner(ref.collection, o.Address, storeBalances(o.Balances)); err != nil {
				return fmt.Errorf("%w: %w", errSnapshot, err)
			}
			return nil
		})
		res.Pages += st.Pages
		res.Owners += st.Owners
		res.Malformed += st.Malformed
		if err != nil {
			if errors.Is(err, bitbadges.ErrPageBound) {
				err = fmt.Errorf("%w: %d badge owner pages read and the server still has more "+
					"(bitbadges.sync_max_pages; old cache kept)", ErrSyncBound, res.Pages)
			} else if errors.Is(err, bitbadges.ErrBookmarkLoop) {
				// As the pre-fetch's: status reports kind=bookmark-cycle.
				err = fmt.Errorf("%w: %w", ErrBookmarkCycle, err)
			} else if c := context.Cause(ctx); ctx.Err() != nil && errors.Is(c, ErrSyncBound) {
				// The sync's time bound stopped it: say so rather than "context canceled".
				err = c
			}
			return res, fmt.Errorf("owners of collection %s token %d (old cache kept): %w", ref.collection, ref.token, err)
		}
		res.Tokens++
	}
	limit := s.MaxMalformed
	if limit <= 0 {
		limit = 0.1
	}
	if res.Malformed > 0 && float64(res.Malformed) > limit*float64(res.Owners+res.Malformed) {
		return res, fmt.Errorf("%w: %d of %d badge owners unusable; refusing to replace the cache",
			bitbadges.ErrMalformed, res.Malformed, res.Owners+res.Malformed)
	}
	keys := make([]string, len(s.Require))
	for i, q := range s.Require {
		keys[i] = q.Key()
	}
	os.OwnersSynced(keys)
	s.log().Info("sync: badge owners fetched", "tokens", res.Tokens, "pages", res.Pages,
		"owners", res.Owners, "malformed", res.Malformed, "took", s.clock().Now().Sub(start).Round(time.Millisecond))
	return res, nil
}

func storeBalances(in []bitbadges.Balance) []store.Balance {
	out := make([]store.Balance, len(in))
	for i, b := range in {
		out[i] = store.Balance{Amount: b.Amount, TokenIDs: storeRanges(b.TokenIDs), OwnershipTimes: storeRanges(b.OwnershipTimes)}
	}
	return out
}

func storeRanges(in []bitbadges.Range) []store.Range {
	out := make([]store.Range, len(in))
	for i, r := range in {
		out[i] = store.Range{Start: r.Start, End: r.End}
	}
	return out
}

// BalanceChecker is the online second chance for a visitor the cached
// owners do not qualify; it implements verify.BalanceChecker.
type BalanceChecker struct {
	Client *bitbadges.Client
}

// Balance asks BitBadges for address's balances in a collection now.
func (b *BalanceChecker) Balance(ctx context.Context, collection, address string) ([]store.Balance, error) {
	bals, err := b.Client.Balance(ctx, collection, address)
	if err != nil {
		return nil, fmt.Errorf("online balance check in collection %s: %w", collection, err)
	}
	return storeBalances(bals), nil
}
