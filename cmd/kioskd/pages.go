package main

// The scan-mode screen and the staff desk (h-pages): their wiring into one
// generation of the daemon, kept out of run.go (which carries only a few
// lines marked "h-pages") so it ports onto the assembler of issue 18.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/desk"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/screen"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// pages are the listener's pages of one generation; either may be nil.
type pages struct {
	screen *screen.Screen
	desk   *desk.Desk
	// deskOnScreen: desk checks also show on the screen (desk.open_on_accept:
	// a desk check is then a door event).
	deskOnScreen bool
}

// openPages builds the screen and the desk the configuration asks for. It
// needs d's verifier, monitor, outputs and store.
func (d *daemon) openPages(log *slog.Logger) error {
	cfg := &d.cfg
	if cfg.Screen.Enabled {
		d.pages.screen = screen.New(screen.Options{ShowName: cfg.Screen.ShowName, Hold: cfg.Screen.Hold,
			MaxClients: cfg.Screen.MaxClients, Health: d.screenFaults, Logger: log.With("component", "screen")})
	}
	if cfg.Desk.Enabled {
		staff, warn, err := readStaff(cfg)
		if warn != "" {
			log.Warn(warn)
		}
		if err != nil {
			return err
		}
		dlog := log.With("input", "desk")
		dry := cfg.Desk.Check == config.DeskDryRun
		pres := kiosk.Presentation{Verifier: d.ver, Logger: dlog, Input: deskInput}
		if cfg.Desk.OpenOnAccept {
			pres.Signal = d.sig
		}
		if !dry { // a look-up records nothing and is no verdict of the kiosk's
			pres.Observer = d.mon
		}
		d.pages.deskOnScreen = cfg.Desk.OpenOnAccept
		dk, err := desk.New(desk.Options{Staff: staff, CheckIn: !dry,
			Checker:  deskChecker{pres: pres, dry: dry},
			Opener:   deskOpener{d: d, log: dlog},
			MaxOpens: cfg.Desk.ManualOpens, OpenWindow: cfg.Desk.ManualOpenWindow, Logger: dlog})
		if err != nil {
			return fmt.Errorf("setting up the desk: %w", err)
		}
		d.pages.desk = dk
	}
	d.pages.registerMetrics(d.metrics, log)
	return nil
}

// mount adds the pages to the listener. The screen is for the kiosk's own
// display: a loopback client needs no token, any other the listener's. The
// desk checks its own, named, staff tokens.
func (p *pages) mount(mux *http.ServeMux, token string) {
	if p.screen != nil {
		mux.Handle("/screen/", status.RequireTokenOffLoopback(token, p.screen.Handler()))
	}
	if p.desk != nil {
		mux.Handle("/desk/", p.desk.Handler())
	}
}

// run starts what the pages run in the generation (the screen's clock).
func (p *pages) run(ctx context.Context, goFn func(func())) {
	if p.screen != nil {
		goFn(func() { _ = p.screen.Run(ctx) })
	}
}

// deskInput names the desk's checks in their verdicts.
const deskInput = "desk"

// verdict shows a verdict on the screen: every lane's, a desk check's only
// when a desk accept opens the door (else a visitor at the door would read
// "Welcome" for someone at the desk).
func (p *pages) verdict(v verify.Verdict) {
	if p.screen != nil && (v.Input != deskInput || p.deskOnScreen) {
		p.screen.Verdict(v)
	}
}

// screenFaults is what the screen's fault notice follows: the camera, the
// store and the clock, as the monitor and the verifier see them.
func (d *daemon) screenFaults() screen.Faults {
	now := time.Now()
	ls := d.mon.Stats()
	h := d.ver.Health(now)
	return screen.Faults{
		Camera: !ls.CameraUp || (!ls.LastFrame.IsZero() && now.Sub(ls.LastFrame) > 10*time.Second),
		Store:  d.st.Err() != nil || h.Recording.Failing,
		Clock:  !h.ClockTrusted,
	}
}

// hintObserver passes the lane's frames and verdicts on to the monitor and
// tells the screen what the decoder saw in a frame it could not read.
// hint is nil until the decoder reports hints ((*scanner.Decoder).Hint,
// branch h-decode): then it maps the decoder's hint onto screen.Hint by name.
type hintObserver struct {
	*kiosk.Monitor
	scr  *screen.Screen
	hint func() screen.Hint
}

func (o hintObserver) Frame(f scanner.Frame, took time.Duration, found bool) {
	o.Monitor.Frame(f, took, found)
	if o.hint != nil && !found {
		o.scr.Hint(o.hint())
	}
}

// laneObserver is the lane's Observer: the monitor, and the screen's hints
// when there is a screen and a source of hints.
func (d *daemon) laneObserver(hint func() screen.Hint) kiosk.Observer {
	if d.pages.screen == nil || hint == nil {
		return d.mon
	}
	return hintObserver{Monitor: d.mon, scr: d.pages.screen, hint: hint}
}

// deskChecker is the desk's Checker: the scan's own path for a text.
type deskChecker struct {
	pres kiosk.Presentation
	dry  bool
}

func (c deskChecker) Check(ctx context.Context, text string) verify.Verdict {
	return c.pres.Present(ctx, text, verify.CheckOpts{DryRun: c.dry})
}

// deskOpener opens the door for staff, once the opening is recorded as a
// manual-open event naming them and their reason: a door opened by hand
// that the kiosk cannot account for does not open.
type deskOpener struct {
	d   *daemon
	log *slog.Logger
}

func (o deskOpener) ManualOpen(_ context.Context, staff, reason string) error {
	d := o.d
	err := d.st.AppendEvent(store.Event{Nonce: store.NewNonce(), Time: time.Now(), Kiosk: d.cfg.KioskID,
		Kind: store.KindManualOpen, Accept: true, Reason: store.KindManualOpen, Detail: "staff " + staff + "; reason: " + reason})
	d.ver.NoteWrite(err)
	if err != nil {
		d.sig.Show(gpio.Reject)
		return fmt.Errorf("recording a manual open, so the door stays shut: %w", err)
	}
	o.log.Info("manual open recorded, opening", "staff", staff, "reason", reason)
	d.sig.Show(gpio.Accept)
	if d.up != nil {
		d.up.Kick()
	}
	return nil
}

// readStaff reads and parses desk.staff_file.
func readStaff(cfg *config.Config) ([]desk.Staff, string, error) {
	text, warn, err := config.ReadSecret(cfg.StaffSecret())
	if err != nil {
		return nil, warn, err
	}
	if text == "" {
		return nil, warn, fmt.Errorf("desk.staff_file (or $KIOSKD_DESK_STAFF) is required when desk.enabled")
	}
	staff, err := desk.ParseStaff(text)
	if err != nil {
		return nil, warn, fmt.Errorf("desk.staff_file: %w", err)
	}
	return staff, warn, nil
}

// pagesPreflight is what a reload checks of the pages before the running
// generation stops: the staff file must read and parse.
func pagesPreflight(cfg *config.Config) error {
	if !cfg.Desk.Enabled {
		return nil
	}
	_, _, err := readStaff(cfg)
	return err
}

// pagesCollector exports the desk's counts and the screen's open pages.
type pagesCollector struct {
	p                                  *pages
	opens, checks, refused, scrClients *prometheus.Desc
}

// registerMetrics adds the pages' series to m (none for a page not enabled).
func (p *pages) registerMetrics(m interface {
	Register(prometheus.Collector) error
}, log *slog.Logger) {
	if p.desk == nil && p.screen == nil {
		return
	}
	c := &pagesCollector{p: p,
		opens: prometheus.NewDesc("kioskd_desk_manual_opens_total",
			"Manual opens asked for at the staff desk, by result: opened, rate_limited, not_recorded (the door stayed shut).", []string{"result"}, nil),
		checks: prometheus.NewDesc("kioskd_desk_checks_total", "Codes checked at the staff desk.", nil, nil),
		refused: prometheus.NewDesc("kioskd_desk_refused_total",
			"Staff desk requests refused: no valid staff token, or sent by another site.", nil, nil),
		scrClients: prometheus.NewDesc("kioskd_screen_clients", "Scan-mode screen pages connected now.", nil, nil),
	}
	if err := m.Register(c); err != nil {
		log.Warn("registering the pages' metrics", "err", err)
	}
}

func (c *pagesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.opens
	ch <- c.checks
	ch <- c.refused
	ch <- c.scrClients
}

func (c *pagesCollector) Collect(ch chan<- prometheus.Metric) {
	if dk := c.p.desk; dk != nil {
		s := dk.Stats()
		for _, r := range []struct {
			result string
			n      uint64
		}{{"opened", s.Opened}, {"rate_limited", s.RateLimited}, {"not_recorded", s.NotRecorded}} {
			ch <- prometheus.MustNewConstMetric(c.opens, prometheus.CounterValue, float64(r.n), r.result)
		}
		ch <- prometheus.MustNewConstMetric(c.checks, prometheus.CounterValue, float64(s.Checks))
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused))
	}
	if scr := c.p.screen; scr != nil {
		ch <- prometheus.MustNewConstMetric(c.scrClients, prometheus.GaugeValue, float64(scr.Clients()))
	}
}
