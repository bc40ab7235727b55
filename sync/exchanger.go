package sync

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
)

// DefaultExchangeBudget is how long the person at the door may wait for an
// online exchange when neither the caller nor the config says otherwise.
const DefaultExchangeBudget = 1500 * time.Millisecond

// Exchanger is the online fallback for a code not in the cache; it
// implements verify.Exchanger. An exchange consumes the code at BitBadges:
// the caller must record the redemption (Exchanger records nothing).
type Exchanger struct {
	Client *bitbadges.Client
	// Budget bounds one exchange when ctx has no earlier deadline;
	// 0 = DefaultExchangeBudget.
	Budget time.Duration
	Logger *slog.Logger
}

// Exchange trades code for its holder's record within the budget. Any
// error (offline, past the budget, unknown or already used code, not
// verified) means "not confirmed online": the caller keeps the cached verdict.
func (e *Exchanger) Exchange(ctx context.Context, code string) (store.Record, error) {
	budget := e.Budget
	if budget <= 0 {
		budget = DefaultExchangeBudget
	}
	ctx, cancel := context.WithTimeout(ctx, budget) // the earlier of the two deadlines wins
	defer cancel()
	hash := store.HashCode(code)
	x, err := e.Client.Exchange(ctx, code)
	if err != nil {
		if e.Logger != nil {
			e.Logger.Info("online exchange failed", "hash", hash[:12], "kind", ErrorKind(err), "err", err)
		}
		return store.Record{}, fmt.Errorf("online exchange of %s…: %w", hash[:12], err)
	}
	rec := store.Record{Hash: hash, Address: x.Address, Chain: x.Chain}
	if x.BitBadgesAddress != x.Address {
		rec.BitBadgesAddress = x.BitBadgesAddress // the join to badge owners (see OwnerAddress)
	}
	return rec, nil
}
