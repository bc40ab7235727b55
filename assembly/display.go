package assembly

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/display"
	"github.com/kioskd/kioskd/display/authsignal"
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
	log   *slog.Logger // nil: discard
	// wrote hears how each write fared, so a store that cannot record
	// display entries makes the kiosk unhealthy as failing scans do.
	wrote func(error) // nil: nobody listens
}

// Approved opens the door only once the approval is durably recorded, as a
// scan's redemption is: an entry the kiosk cannot account for (a full disk,
// a failing card) is refused, and the visitor tries again or scans a code.
func (s displaySink) Approved(_ context.Context, userID string) error {
	if err := s.record(true, "ok", "display: user "+userID); err != nil {
		s.sig.Show(gpio.Reject)
		return fmt.Errorf("recording a display approval, so the door stays shut: %w", err)
	}
	if s.log != nil {
		s.log.Info("display approval recorded, opening", "user", userID)
	}
	s.sig.Show(gpio.Accept)
	return nil
}

func (s displaySink) Rejected(_ context.Context, r display.Reason) error {
	s.sig.Show(gpio.Reject)
	if err := s.record(false, r.String(), "display"); err != nil {
		return fmt.Errorf("recording a display refusal: %w", err)
	}
	return nil
}

func (s displaySink) record(accept bool, reason, detail string) error {
	err := s.st.AppendEvent(store.Event{Nonce: store.NewNonce(), Time: time.Now(), Kiosk: s.kiosk,
		Kind: store.KindDisplay, Accept: accept, Reason: reason, Detail: detail})
	if s.wrote != nil {
		s.wrote(err)
	}
	if err == nil && s.kick != nil {
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

// OpenDisplay builds the display mode from the display: section. secret is
// the Authsignal secret key (config.ReadSecret(cfg.AuthsignalSecret()));
// ledger may be nil (in-memory, see authsignal.MemoryLedger).
func OpenDisplay(d config.Display, secret string, sink display.Sink, ledger authsignal.Ledger, log *slog.Logger) (*display.Controller, error) {
	if secret == "" {
		return nil, errors.New("display: no Authsignal secret key (display.secret_key_file or AUTHSIGNAL_SECRET_KEY)")
	}
	apiURL, tenant := d.Endpoint()
	client, err := authsignal.New(authsignal.Config{
		BaseURL: apiURL, TenantID: tenant, SecretKey: secret, Action: d.Action, Ledger: ledger,
	})
	if err != nil {
		return nil, fmt.Errorf("display: %w", err)
	}
	return display.New(display.Options{Client: client, Sink: sink, Logger: log, Custom: d.Custom,
		PollInterval: d.PollInterval, Refresh: d.Refresh})
}
