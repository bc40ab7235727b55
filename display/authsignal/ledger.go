package authsignal

import (
	"context"
	"sync"
)

// Ledger remembers the idempotency keys of approvals already let in, so the
// same approval (a replayed token) cannot open the door twice. Authsignal does
// not document whether /validate refuses a token seen before, so the kiosk
// refuses it itself.
//
// kioskd can back a Ledger with its store so the memory survives a restart;
// MemoryLedger is the in-process fallback.
type Ledger interface {
	// Use records key and reports whether it was new. A false means the key
	// was used before and the approval must be refused.
	Use(ctx context.Context, key string) (fresh bool, err error)
}

// DefaultLedgerSize is MemoryLedger's capacity when none is given. Tokens
// live ten minutes and a kiosk completes at most one approval every few
// seconds (create, scan, approve), i.e. a few hundred per token lifetime:
// 4096 keys cover that many times over.
const DefaultLedgerSize = 4096

// MemoryLedger is a bounded in-memory Ledger. It forgets the oldest key once
// full, and everything on restart: a token replayed after a restart within
// its ten-minute life would be accepted again, which a store-backed Ledger
// avoids.
type MemoryLedger struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string // insertion order, for eviction
	next int
}

// NewMemoryLedger returns a MemoryLedger holding up to size keys
// (DefaultLedgerSize when size <= 0).
func NewMemoryLedger(size int) *MemoryLedger {
	if size <= 0 {
		size = DefaultLedgerSize
	}
	return &MemoryLedger{seen: make(map[string]struct{}, size), ring: make([]string, size)}
}

// Use implements Ledger.
func (l *MemoryLedger) Use(_ context.Context, key string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[key]; ok {
		return false, nil
	}
	if old := l.ring[l.next]; old != "" {
		delete(l.seen, old)
	}
	l.ring[l.next] = key
	l.next = (l.next + 1) % len(l.ring)
	l.seen[key] = struct{}{}
	return true, nil
}
