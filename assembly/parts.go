package assembly

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/output"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync"
	"github.com/kioskd/kioskd/verify"
)

// StorePath is where the bbolt file lives in the state folder.
func StorePath(cfg *config.Config) string {
	return filepath.Join(cfg.StateDir, "kioskd.db")
}

// OpenStore opens the state folder's store, with what to do about the
// errors an operator meets (the daemon holding it, a damaged file).
func OpenStore(cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	// Snapshot batches of 10,000 records keep a 100k-code sync under 60 MB
	// of peak memory (BENCHMARKS.md, Sync) for a few hundred ms more.
	st, err := store.Open(StorePath(cfg), store.Options{MaxPendingEvents: cfg.Events.MaxPending, Logger: log, SnapshotBatch: 10000})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: is the kioskd daemon running? stop it first (systemctl stop kioskd), or use its status page", err)
	}
	if errors.Is(err, store.ErrDamaged) {
		return nil, fmt.Errorf("%w\nkioskd will not decide with it: run kioskd store check for details, then kioskd store recover to rescue what is readable (docs/operations.md, A damaged store)", err)
	}
	return st, err
}

// NewVerifier is the verifier cfg's policy and access requirements make over
// st; svc (nil: offline only) adds the online exchange and badge re-check.
func NewVerifier(st *store.Store, cfg *config.Config, log *slog.Logger, svc *sync.Service) *verify.Verifier {
	vo := verify.Options{Policy: PolicyOptions(cfg.Policy), Kiosk: cfg.KioskID, Logger: log, ExchangeBudget: cfg.BitBadges.ExchangeBudget,
		Access: AccessOptions(cfg.Access)}
	if svc != nil {
		if svc.Exchanger != nil {
			vo.Exchanger = svc.Exchanger
		}
		if svc.Balances != nil {
			vo.Balances = svc.Balances
		}
	}
	return verify.New(st, vo)
}

// uploaderFor is the event uploader of a daemon: the sync service's, or
// with no BitBadges credentials (a display-only or import-only kiosk) one
// of its own; nil without events.url.
func uploaderFor(cfg *config.Config, st *store.Store, svc *sync.Service, log *slog.Logger) (*sync.Uploader, error) {
	if svc != nil {
		return svc.Uploader, nil
	}
	ev, err := eventsConfig(cfg, orDiscard(log))
	if err != nil {
		return nil, fmt.Errorf("setting up the event upload: %w", err)
	}
	return sync.NewUploader(ev, st, sync.Options{Logger: log}), nil
}

// openOutputs opens the outputs the config lists (outputs:), each by its
// registered kind.
func (d *Daemon) openOutputs(ctx context.Context) error {
	for i, p := range d.cfg.Outputs {
		kind, err := output.Lookup(p.Kind)
		if err != nil {
			return fmt.Errorf("outputs[%d].kind: %w", i, err)
		}
		o, err := kind.Open(ctx, output.Spec{Name: p.Name, Kiosk: d.cfg.KioskID, Decode: p.Decode,
			Logger: d.log.With("output", p.Name), Store: d.st, Resolve: d.cfg.Resolve, Secret: outputSecret(&d.cfg, i, d.log)})
		if err != nil {
			return fmt.Errorf("output %s: %w", p.Name, err)
		}
		d.outputs = append(d.outputs, o)
	}
	registerOutputMetrics(d.metrics, d, d.log) // handoff.go
	return nil
}
