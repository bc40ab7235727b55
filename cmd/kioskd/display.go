package main

import (
	"context"
	"time"

	"github.com/kioskd/kioskd/display"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/store"
)

// displaySink lets the display mode's approvals in through the same outputs
// as a scanned code, and records each as an event with the user id (never the
// token).
type displaySink struct {
	sig   gpio.Signal
	st    *store.Store
	kiosk string
	kick  func()
}

func (s displaySink) Approved(_ context.Context, userID string) error {
	s.sig.Show(gpio.Accept)
	return s.record(true, "ok", "display: user "+userID)
}

func (s displaySink) Rejected(_ context.Context, r display.Reason) error {
	s.sig.Show(gpio.Reject)
	return s.record(false, r.String(), "display")
}

func (s displaySink) record(accept bool, reason, detail string) error {
	err := s.st.AppendEvent(store.Event{Nonce: store.NewNonce(), Time: time.Now(), Kiosk: s.kiosk,
		Kind: "display", Accept: accept, Reason: reason, Detail: detail})
	if s.kick != nil {
		s.kick()
	}
	return err
}

// storeLedger keeps the display mode's used idempotency keys in the store,
// so a token replayed after a restart is still refused.
type storeLedger struct{ st *store.Store }

func (l storeLedger) Use(ctx context.Context, key string) (bool, error) {
	// Tokens live 10 minutes; a day of keys is a wide margin.
	return l.st.UseOnce(ctx, "authsignal:"+key, 24*time.Hour)
}
