package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	stdsync "sync"
	"syscall"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/display"
	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/notify"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync"
	"github.com/kioskd/kioskd/verify"
	"golang.org/x/net/netutil"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("run", "-config FILE", stderr)
	cfgPath := configFlag(fs)
	if err := parse(fs, args); err != nil {
		return exitError, err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return exitError, err
	}
	log := newLogger(stderr, cfg.LogLevel)
	n := notify.FromEnv()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// Each configuration runs as one generation of the daemon. SIGHUP loads
	// the file again: a bad new config is refused and the running generation
	// goes on untouched; a good one replaces it (outputs released and
	// re-driven to their safe level in between). "Bad" includes what only
	// start-up would find (preflight); should the new generation still fail
	// before it is ready (a port taken, the store), the previous
	// configuration is started again rather than the daemon ending.
	var prev *config.Config // set while a reloaded generation starts
	for {
		gctx, cancel := context.WithCancel(ctx)
		ready := make(chan struct{})
		var readyOnce stdsync.Once
		gctx = withReadyHook(gctx, func() { readyOnce.Do(func() { close(ready) }) })
		done := make(chan error, 1)
		go func() { done <- runDaemon(gctx, cfg, log, n) }()
	wait:
		for {
			select {
			case err := <-done:
				cancel()
				if err != nil && prev != nil && !closed(ready) && ctx.Err() == nil {
					log.Error("reload failed at start-up: going back to the previous configuration", "err", err)
					_ = n.Status("reload failed at start-up, previous configuration restored: " + err.Error())
					cfg, prev = *prev, nil
					log = newLogger(stderr, cfg.LogLevel)
					break wait
				}
				_ = n.Stopping()
				if err != nil {
					return exitError, err
				}
				return exitOK, nil
			case <-ready:
				prev = nil // the new configuration is the one to keep now
				ready = nil
			case <-hup:
				next, err := loadConfig(*cfgPath)
				if err == nil {
					err = preflight(&next)
				}
				if err != nil {
					log.Error("reload refused: the running configuration stays", "err", err)
					_ = n.Status("reload refused: " + err.Error())
					continue
				}
				log.Info("reloading configuration")
				_ = n.Reloading()
				cancel()
				if err := <-done; err != nil {
					log.Error("stopping for reload", "err", err)
				}
				// A generation cut short before it was ready is not one to
				// go back to: the last one that was stays the fallback.
				if prev == nil {
					running := cfg
					prev = &running
				}
				cfg = next
				log = newLogger(stderr, cfg.LogLevel)
				break wait
			}
		}
	}
}

// daemon holds the parts of one running generation, for the status page.
type daemon struct {
	cfg     config.Config
	st      *store.Store
	svc     *sync.Service  // nil without BitBadges credentials
	up      *sync.Uploader // nil without events.url
	ver     *verify.Verifier
	mon     *kiosk.Monitor
	hist    *status.History
	src     scanner.Source
	metrics *metrics.Metrics
	sig     *gpio.Outputs
	fleet   *fleet.Fleet        // nil for a single kiosk
	display *display.Controller // nil without the display mode
	inputs  *inputLanes         // issue 20: the scanner inputs (inputs.go)
}

// verdict hears every decision after the outputs have shown it.
func (d *daemon) verdict(v verify.Verdict) {
	d.hist.Add(v)
	if d.fleet != nil && v.Accept {
		d.fleet.Notify() // publish the new redemption to the other kiosks now
	}
	if d.up != nil {
		d.up.Kick()
	}
}

// runDaemon runs one generation until ctx ends or a part fails for good.
func runDaemon(ctx context.Context, cfg config.Config, log *slog.Logger, n *notify.Notifier) error {
	_ = n.Status("starting")
	d := &daemon{cfg: cfg, hist: status.NewHistory(20), metrics: metrics.New()}

	// The outputs come first: every line at its safe level before the camera
	// or the network are touched.
	var st *store.Store
	var stMu stdsync.Mutex
	sig, err := gpio.Open(ctx, cfg.GPIO, gpio.Options{Logger: log, OnInput: func(ev gpio.InputEvent) {
		// Held while writing: the store is not closed under an event.
		stMu.Lock()
		defer stMu.Unlock()
		if st == nil {
			return
		}
		if err := st.AppendEvent(store.Event{Nonce: store.NewNonce(), Time: ev.At, Kiosk: cfg.KioskID, Kind: store.KindDoor, Detail: ev.String()}); err != nil {
			log.Error("recording an input event", "err", err)
		}
	}})
	if err != nil {
		return fmt.Errorf("opening GPIO: %w", err)
	}
	d.sig = sig
	defer func() {
		if err := sig.Close(); err != nil {
			log.Error("releasing GPIO", "err", err)
		}
	}()

	s, err := openStore(&cfg, log)
	if err != nil {
		return err
	}
	stMu.Lock()
	st = s
	stMu.Unlock()
	defer func() {
		// The inputs outlive the store (GPIO is released last): a door
		// event from now on is logged by gpio, not written to a closed file.
		stMu.Lock()
		st = nil
		stMu.Unlock()
		if err := s.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()
	d.st = s

	vo := verify.Options{Policy: cfg.Policy, Kiosk: cfg.KioskID, Logger: log, ExchangeBudget: cfg.BitBadges.ExchangeBudget,
		Access: cfg.Access}
	if cfg.BitBadges.ClientID != "" {
		d.svc, err = sync.New(&cfg, s, sync.Options{Logger: log})
		if err != nil {
			return fmt.Errorf("setting up sync: %w", err)
		}
		if d.svc.Exchanger != nil {
			vo.Exchanger = d.svc.Exchanger
		}
		if d.svc.Balances != nil {
			vo.Balances = d.svc.Balances
		}
		// Every sync's outcome also feeds the metrics.
		inner := d.svc.Scheduler.Sync
		d.svc.Scheduler.Sync = func(ctx context.Context) (sync.Result, error) {
			t0 := time.Now()
			r, err := inner(ctx)
			d.metrics.SyncResult(err == nil, time.Since(t0))
			if err == nil {
				d.metrics.LastSync(time.Now())
			}
			return r, err
		}
		svc := d.svc
		d.metrics.SyncSource(func() metrics.SyncState {
			ss := svc.Status()
			ms := metrics.SyncState{Running: ss.Syncing, Pages: ss.SyncPages, Duplicates: ss.LastDuplicates}
			if ss.HeldBack != nil {
				ms.HeldBack, ms.HeldBackCodes = true, ss.HeldBack.Codes
			}
			return ms
		})
	} else {
		log.Warn("bitbadges.client_id is empty: no sync; the cache changes only by kioskd import")
	}
	if d.up, err = uploaderFor(&cfg, s, d.svc, log); err != nil {
		return err
	}
	d.ver = verify.New(s, vo)
	registerAccessMetrics(d.metrics, &cfg, d.ver, log)

	// The fleet (nil without a broker) must exist before the pipeline's
	// first redemption, so every one of them is published.
	d.fleet, err = fleet.FromConfig(&cfg, fleet.Options{Store: s, Logger: log,
		OnDoubleEntry: func(store.DoubleEntry) { d.metrics.DoubleEntry() }})
	if err != nil {
		return err
	}

	if cfg.Display.Enabled {
		secret, warn, err := config.ReadSecret(cfg.AuthsignalSecret())
		if warn != "" {
			log.Warn(warn)
		}
		if err != nil {
			return err
		}
		sink := displaySink{sig: sig, st: s, kiosk: cfg.KioskID, log: log, wrote: d.ver.NoteWrite}
		if d.up != nil {
			sink.kick = d.up.Kick
		}
		if d.display, err = display.FromConfig(cfg.Display, secret, sink, storeLedger{s}, log); err != nil {
			return err
		}
	}

	preview := &kiosk.Preview{}
	d.mon = &kiosk.Monitor{Verifier: d.ver, Signal: sig, Meter: d.metrics, Preview: preview, OnVerdict: d.verdict}
	// issue 20 (inputs.go): the scanner lanes; the camera only if it is an input.
	if d.inputs, err = newInputLanes(&cfg, d.mon, d.ver, sig, d.metrics, log); err != nil {
		return err
	}
	d.src, err = d.inputs.openCamera(&cfg, scanner.SourceOptions{Logger: log, OnState: d.mon.CameraState})
	if err != nil {
		return fmt.Errorf("opening the camera: %w", err)
	}

	var wg stdsync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first part to fail for good stops the generation; later failures
	// (the others stopping because of it) are dropped, never blocking.
	fail := make(chan error, 1)
	report := func(err error) {
		select {
		case fail <- err:
		default:
			log.Debug("after the first failure", "err", err)
		}
	}

	if cfg.HTTP.Listen != "" {
		srv, err := d.httpServer(preview, log)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http.listen: %w", err)
		}
		ln = netutil.LimitListener(ln, httpMaxConns)
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				report(fmt.Errorf("status listener: %w", err))
			}
		})
		wg.Go(func() {
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
			defer c()
			_ = srv.Shutdown(sctx)
		})
		log.Info("status page", "url", "http://"+ln.Addr().String()+"/")
	}
	if d.display != nil {
		wg.Go(func() {
			if err := d.display.Run(ctx); err != nil && ctx.Err() == nil {
				report(fmt.Errorf("display mode: %w", err))
			}
		})
	}
	if d.fleet != nil {
		wg.Go(func() {
			if err := d.fleet.Run(ctx); err != nil && ctx.Err() == nil {
				report(fmt.Errorf("fleet: %w", err))
			}
		})
	}
	if d.svc != nil {
		wg.Go(func() {
			if err := d.svc.Run(ctx); err != nil && ctx.Err() == nil {
				report(fmt.Errorf("sync: %w", err))
			}
		})
	}
	if d.up != nil && d.svc == nil { // the service runs its own
		wg.Go(func() { _ = d.up.Run(ctx) })
	}
	pipe := &kiosk.Pipeline{Source: d.src, Decoder: scanner.NewDecoder(scanner.DecoderOptions{}), Verifier: d.ver,
		Signal: sig, Rearm: cfg.Camera.Rearm, Observer: d.mon, Logger: log, Input: d.inputs.camera /* issue 20 */}
	wg.Go(func() {
		if err := pipe.Run(ctx); err != nil {
			report(fmt.Errorf("camera pipeline: %w", err))
			return
		}
		if ctx.Err() == nil {
			log.Info("frame source finished", "source", d.src.Describe())
		}
	})
	d.inputs.start(ctx, &wg, report) // issue 20: the scanner lanes (inputs.go)
	wg.Go(func() {
		last := ""
		d.mon.Watch(ctx, time.Second, func(ps []string) {
			d.metrics.CacheSize(d.ver.Health(time.Now()).Count)
			if n, err := s.PendingCount(); err == nil {
				d.metrics.EventsPending(n)
			}
			line := "ready: scanning"
			if len(ps) > 0 {
				line = "degraded: " + ps[0]
			}
			if line != last {
				last = line
				_ = n.Status(line)
				if len(ps) > 0 {
					log.Warn("kiosk degraded", "problems", ps)
				} else {
					log.Info("kiosk healthy")
				}
			}
		})
	})
	if to, ok := notify.WatchdogInterval(); ok {
		wg.Go(func() {
			_ = n.Watchdog(ctx, to, func() bool { return d.mon.Alive(to) }, func(err error) { log.Warn("watchdog", "err", err) })
		})
	}

	sig.Show(gpio.Idle)
	generationReady(ctx)
	_ = n.Ready("ready: scanning")
	log.Info("kioskd running", "kiosk", cfg.KioskID, "camera", d.src.Describe(), "gpio", cfg.GPIO.Driver)

	select {
	case <-ctx.Done():
		log.Info("stopping")
		return nil
	case err := <-fail:
		return err
	}
}

// httpMaxConns bounds the listener's open connections: each costs a file
// descriptor, and descriptors spent on idle sockets are ones the camera,
// the store and the sync cannot have. The kiosk's own screen and an
// operator's browser need a handful; connections past the bound wait in the
// kernel's backlog.
const httpMaxConns = 64

// httpIdleTimeout closes keep-alive connections nobody uses; without it an
// idle connection stays open for ever.
const httpIdleTimeout = 60 * time.Second

func (d *daemon) httpServer(preview status.Preview, log *slog.Logger) (*http.Server, error) {
	token, warn, err := config.ReadSecret(d.cfg.HTTPToken())
	if warn != "" {
		log.Warn(warn)
	}
	if err != nil {
		return nil, err
	}
	if token == "" && !loopback(d.cfg.HTTP.Listen) {
		return nil, fmt.Errorf("http.listen %q is not on localhost: set http.token_file (the preview shows what the camera sees, codes included)", d.cfg.HTTP.Listen)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", status.RequireToken(token, d.metrics.Handler()))
	if d.display != nil {
		// The kiosk's own screen (Chromium in kiosk mode on localhost) needs
		// no token; anyone else does: the page carries the live challenge,
		// which an enrolled phone anywhere could approve to open the door.
		mux.Handle("/display/", status.RequireTokenOffLoopback(token, d.display.Handler()))
	}
	mux.Handle("/", status.Handler(status.ProviderFunc(d.snapshot), preview, status.HandlerOptions{Token: token, Logger: log}))
	h := status.CheckHost(d.cfg.HTTP.Listen, d.cfg.HTTP.Hosts, mux)
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: httpIdleTimeout, MaxHeaderBytes: 16 << 10}, nil
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// snapshot is the running daemon's status.
func (d *daemon) snapshot() status.Snapshot {
	s := offlineSnapshot(&d.cfg, d.st, d.svc)
	s.Offline = false
	ls := d.mon.Stats()
	s.Camera = status.Camera{Up: ls.CameraUp, Source: d.cfg.Camera.Source, Detail: ls.CameraDetail, FPS: ls.FPS, DecodeP50: status.Duration(ls.DecodeP50),
		FramesDropped: ls.FramesDropped, VerdictLatencyP50: status.Duration(ls.VerdictLatencyP50), VerdictLatencyP95: status.Duration(ls.VerdictLatencyP95)}
	if s.Camera.Detail == "" {
		s.Camera.Detail = d.src.Describe()
	}
	s.GPIO = status.GPIO{Driver: d.cfg.GPIO.Driver, Detail: d.sig.Status().String()}
	s.Recent = d.hist.List()
	d.inputs.fill(&s, ls) // issue 20: the inputs (inputs.go)
	s.Problems = append(d.mon.Problems(), syncProblems(s.Sync)...)
	if err := d.st.Err(); err != nil {
		// Every verdict is an error from now on: say why first.
		s.Problems = append([]string{"store damaged, no verdicts until it is recovered (kioskd store check): " + err.Error()}, s.Problems...)
	}
	s.Healthy = len(s.Problems) == 0
	if d.display != nil {
		s.Display.State = d.display.Screen().State.String()
	}
	if d.fleet != nil {
		// A broker that cannot be reached and the double entries found after
		// a partition are shown; only the first makes the kiosk unhealthy
		// (a double entry is an incident to follow up, not a broken kiosk).
		fs := d.fleet.Status()
		s.Fleet = &status.Fleet{Broker: fs.Broker, Connected: fs.Connected, Pending: fs.Pending,
			Published: fs.Published, Applied: fs.Applied, Ignored: fs.Ignored}
		for _, p := range fs.Peers {
			s.Peers = append(s.Peers, status.Peer{Kiosk: p.Kiosk, LastSeen: p.LastSeen, Online: p.Online})
		}
		s.Problems = append(s.Problems, fs.Lines()...)
		if !fs.Connected && fs.LastError != "" {
			s.Healthy = false
		}
	} else if ps := keptFleetProblems(&d.cfg, d.st); len(ps) > 0 {
		s.Problems = append(s.Problems, ps...)
		s.Healthy = false
	}
	eventsStatus(&s, d.up)
	return s.Complete()
}
