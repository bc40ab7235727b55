// Package assembly turns a config.Config into a running kiosk: the one
// wiring of kioskd, used by `kioskd run`, by `kioskd demo` and (through the
// kioskd binary it starts) by the VM harness. Only this package and
// cmd/kioskd import config; every part takes its own Options and the narrow
// interfaces it declares. Input kinds, outputs, HTTP pages and GPIO drivers
// are looked up in their registries by the names the config gives, so a new
// kind is a new package plus a blank import in kinds.go.
//
// Open brings the parts up in the order the hardware needs (the GPIO
// outputs at their safe level first, then the store, the sync, the
// verifier, the fleet, the display mode, the inputs and the outputs), Run
// runs them until the context ends or one fails for good, and Close puts
// them away in reverse (the GPIO lines last). See docs/architecture.md.
package assembly

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/display"
	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/gpio/gpiosim"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/notify"
	"github.com/kioskd/kioskd/output"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync"
	"github.com/kioskd/kioskd/verify"
)

// Options are what the caller adds to the config.
type Options struct {
	// Logger receives the parts' logs; nil discards.
	Logger *slog.Logger
	// Notifier is systemd's notify socket; nil sends nothing.
	Notifier *notify.Notifier
	// Version is kioskd's version, for the status.
	Version string
	// Sim records the sim GPIO driver's lines (kioskd demo, tests); nil:
	// the sim driver logs its transitions.
	Sim *gpiosim.Recorder
	// Script makes replayed inputs show every image in turn (kioskd demo).
	Script bool
	// Observer, if set, also hears every frame and verdict of the lanes
	// (kioskd demo prints them).
	Observer kiosk.Observer
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Daemon is one running generation of the kiosk, assembled from one config.
type Daemon struct {
	cfg  config.Config
	opts Options
	log  *slog.Logger
	n    *notify.Notifier

	sig *gpio.Outputs
	// stMu guards st for the GPIO inputs' events, which outlive the store
	// (the GPIO is released last).
	stMu stdsync.Mutex
	st   *store.Store

	svc     *sync.Service  // nil without BitBadges credentials
	up      *sync.Uploader // nil without events.url
	ver     *verify.Verifier
	mon     *kiosk.Monitor
	hist    *status.History
	metrics *metrics.Metrics
	preview *kiosk.Preview
	fleet   *fleet.Fleet        // nil for a single kiosk
	display *display.Controller // nil without the display mode
	lanes   []*lane
	// inputMeter is the per-input metrics (issue 20, inputs.go).
	inputMeter *inputMetrics
	outputs    []output.Output
	subs       subscribers
}

// Open assembles the parts cfg names. On an error every part opened so far
// is closed again.
func Open(ctx context.Context, cfg config.Config, o Options) (_ *Daemon, err error) {
	d := &Daemon{cfg: cfg, opts: o, log: o.logger(), n: o.Notifier,
		hist: status.NewHistory(20), metrics: metrics.New(), preview: &kiosk.Preview{}}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	// The outputs come first: every line at its safe level before the
	// camera or the network are touched.
	if err := d.openSignal(ctx); err != nil {
		return nil, err
	}
	steps := []func(context.Context) error{d.openStore, d.openSync, d.openVerifier, d.openFleet, d.openDisplay,
		d.openOutputs, d.openInputs}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Daemon) openSignal(ctx context.Context) error {
	sig, err := gpio.Open(ctx, GPIOConfig(d.cfg.GPIO), gpio.Options{Logger: d.log, Sim: d.opts.Sim, OnInput: d.doorEvent})
	if err != nil {
		return fmt.Errorf("opening GPIO: %w", err)
	}
	d.sig = sig
	return nil
}

// doorEvent records a GPIO input (exit button, door contact) as an event.
func (d *Daemon) doorEvent(ev gpio.InputEvent) {
	// Held while writing: the store is not closed under an event.
	d.stMu.Lock()
	defer d.stMu.Unlock()
	if d.st == nil {
		return
	}
	if err := d.st.AppendEvent(store.Event{Nonce: store.NewNonce(), Time: ev.At, Kiosk: d.cfg.KioskID,
		Kind: store.KindDoor, Detail: ev.String()}); err != nil {
		d.log.Error("recording an input event", "err", err)
	}
}

func (d *Daemon) openStore(context.Context) error {
	s, err := OpenStore(&d.cfg, d.log)
	if err != nil {
		return err
	}
	d.stMu.Lock()
	d.st = s
	d.stMu.Unlock()
	return nil
}

func (d *Daemon) openSync(context.Context) error {
	cfg := &d.cfg
	if cfg.BitBadges.ClientID == "" {
		d.log.Warn("bitbadges.client_id is empty: no sync; the cache changes only by kioskd import")
	} else {
		svc, err := NewSync(cfg, d.st, d.log, d.syncDone)
		if err != nil {
			return fmt.Errorf("setting up sync: %w", err)
		}
		d.svc = svc
		d.metrics.SyncSource(func() metrics.SyncState {
			ss := svc.Status()
			ms := metrics.SyncState{Running: ss.Syncing, Pages: ss.SyncPages, Duplicates: ss.LastDuplicates}
			if ss.HeldBack != nil {
				ms.HeldBack, ms.HeldBackCodes = true, ss.HeldBack.Codes
			}
			return ms
		})
	}
	up, err := uploaderFor(cfg, d.st, d.svc, d.log)
	d.up = up
	return err
}

// syncDone feeds every scheduled sync's outcome to the metrics.
func (d *Daemon) syncDone(err error, took time.Duration) {
	d.metrics.SyncResult(err == nil, took)
	if err == nil {
		d.metrics.LastSync(time.Now())
	}
}

func (d *Daemon) openVerifier(context.Context) error {
	d.ver = NewVerifier(d.st, &d.cfg, d.log, d.svc)
	registerAccessMetrics(d.metrics, &d.cfg, d.ver, d.log)
	registerVisitMetrics(d.metrics, &d.cfg, d.ver, d.log) // visits.go
	return nil
}

func (d *Daemon) openFleet(context.Context) error {
	// The fleet (nil without a broker) must exist before the pipeline's
	// first redemption, so every one of them is published.
	f, err := OpenFleet(&d.cfg, fleet.Options{Store: d.st, Logger: d.log,
		OnDoubleEntry: func(store.DoubleEntry) { d.metrics.DoubleEntry() }})
	d.fleet = f
	return err
}

func (d *Daemon) openDisplay(context.Context) error {
	if !d.cfg.Display.Enabled {
		return nil
	}
	secret, warn, err := config.ReadSecret(d.cfg.AuthsignalSecret())
	if warn != "" {
		d.log.Warn(warn)
	}
	if err != nil {
		return err
	}
	sink := displaySink{sig: d.sig, st: d.st, kiosk: d.cfg.KioskID, log: d.log, wrote: d.ver.NoteWrite}
	if d.up != nil {
		sink.kick = d.up.Kick
	}
	d.display, err = OpenDisplay(d.cfg.Display, secret, sink, storeLedger{d.st}, d.log)
	return err
}

// verdict hears every decision after the outputs have shown it.
func (d *Daemon) verdict(v verify.Verdict) {
	d.hist.Add(v)
	if d.fleet != nil && v.Accept {
		d.fleet.Notify() // publish the new redemption to the other kiosks now
	}
	if d.up != nil {
		d.up.Kick()
	}
	for _, o := range d.outputs {
		o.Verdict(v)
	}
	d.subs.publish(v)
}

// Close puts the parts away in reverse order: the store is flushed and
// closed, then every GPIO output is driven to its safe level and released.
// Call it after Run has returned.
func (d *Daemon) Close() error {
	var errs []error
	d.stMu.Lock()
	s := d.st
	// The inputs outlive the store (GPIO is released last): a door event
	// from now on is logged by gpio, not written to a closed file.
	d.st = nil
	d.stMu.Unlock()
	if s != nil {
		if err := s.Close(); err != nil {
			d.log.Error("closing the store", "err", err)
			errs = append(errs, fmt.Errorf("closing the store: %w", err))
		}
	}
	if d.sig != nil {
		if err := d.sig.Close(); err != nil {
			d.log.Error("releasing GPIO", "err", err)
			errs = append(errs, fmt.Errorf("releasing GPIO: %w", err))
		}
		d.sig = nil
	}
	return errors.Join(errs...)
}

// Store is the open store (the demo counts its outbox).
func (d *Daemon) Store() *store.Store { return d.st }

// Sync is the sync service; nil without BitBadges credentials.
func (d *Daemon) Sync() *sync.Service { return d.svc }

// Signal is the GPIO outputs.
func (d *Daemon) Signal() gpio.Signal { return d.sig }
