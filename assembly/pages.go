package assembly

// What the pages of http.pages get from the daemon beyond the page
// registry's basics (h-pages): a lane that takes options (a staff desk's
// check), the door (a manual open), the kiosk's health (a fault notice),
// secrets read as the config reads them, and the metrics registry.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/page"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// SubmitWith implements page.Lane: a code typed at a page goes through the
// first lane's own path (kiosk.Pipeline.SubmitWith).
func (d *Daemon) SubmitWith(ctx context.Context, text string, o page.SubmitOpts) verify.Verdict {
	if len(d.lanes) == 0 {
		return verify.Verdict{Reason: verify.Error, At: time.Now()}
	}
	return d.lanes[0].pipe.SubmitWith(ctx, text, kiosk.SubmitOpts{DryRun: o.DryRun, Quiet: !o.Signal, Input: o.Input})
}

// ManualOpen implements page.Door: the door opens for staff once the
// opening is durably recorded as a manual-open event naming them and their
// reason; an opening the kiosk cannot account for does not happen.
func (d *Daemon) ManualOpen(_ context.Context, staff, reason string) error {
	d.stMu.Lock()
	st := d.st
	d.stMu.Unlock()
	if st == nil {
		return fmt.Errorf("recording a manual open: the store is closed")
	}
	err := st.AppendEvent(store.Event{Nonce: store.NewNonce(), Time: time.Now(), Kiosk: d.cfg.KioskID,
		Kind: store.KindManualOpen, Accept: true, Reason: string(store.KindManualOpen), Detail: "staff " + staff + "; reason: " + reason, Input: "desk"})
	d.ver.NoteWrite(err)
	if err != nil {
		d.sig.Show(gpio.Reject)
		return fmt.Errorf("recording a manual open, so the door stays shut: %w", err)
	}
	d.log.Info("manual open recorded, opening", "staff", staff, "reason", reason)
	d.sig.Show(gpio.Accept)
	if d.up != nil {
		d.up.Kick()
	}
	return nil
}

// pageHealth is what a page's fault notice follows: the camera, the store
// and the clock, as the monitor and the verifier see them.
func (d *Daemon) pageHealth() page.Health {
	now := time.Now()
	ls := d.mon.Stats()
	h := d.ver.Health(now)
	return page.Health{
		Camera: !ls.CameraUp || (!ls.LastFrame.IsZero() && now.Sub(ls.LastFrame) > 10*time.Second),
		Store:  d.st.Err() != nil || h.Recording.Failing,
		Clock:  !h.ClockTrusted,
	}
}

// pageSecret reads a page's secret as the config's own are read: the
// environment variable first, a bare file name from systemd's credentials,
// a relative path against the config's folder; errors name the key.
func (d *Daemon) pageSecret(pageName string) func(key, file, env string) (string, error) {
	return pageSecretReader(&d.cfg, pageName, func(warn string) { d.log.Warn(warn) })
}

// pageSecretReader reads a page's secrets for cfg; warn hears a warning
// (a file readable by every user).
func pageSecretReader(cfg *config.Config, pageName string, warn func(string)) func(key, file, env string) (string, error) {
	return func(key, file, env string) (string, error) {
		v, w, err := config.ReadSecret(config.Secret{Key: "http.pages " + pageName + "." + key, Name: file, File: cfg.Resolve(file), Env: env})
		if w != "" {
			warn(w)
		}
		return v, err
	}
}

// preflightPages reads what each page of http.pages names outside the
// config (a desk's staff file) through its kind's Preflight. Warnings are
// left to the start-up that follows, which logs them.
func preflightPages(cfg *config.Config) error {
	var errs []error
	for i, p := range cfg.HTTP.Pages {
		kind, err := page.Lookup(p.Kind)
		if err != nil || kind.Preflight == nil {
			continue // an unknown kind is Check's to report
		}
		if err := kind.Preflight(p.Decode, pageSecretReader(cfg, p.Name, func(string) {})); err != nil {
			errs = append(errs, fmt.Errorf("http.pages[%d] (%s, line %d): %w", i, p.Name, p.Line, err))
		}
	}
	return errors.Join(errs...)
}
