package assembly

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/notify"
	"github.com/kioskd/kioskd/output"
	"golang.org/x/net/netutil"
)

// Run runs the parts until ctx ends (nil) or one fails for good (its
// error). ready is called once everything is up and the outputs show idle.
func (d *Daemon) Run(ctx context.Context, ready func()) error {
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
			d.log.Debug("after the first failure", "err", err)
		}
	}
	if err := d.serveHTTP(ctx, &wg, report); err != nil {
		return err
	}
	d.startParts(ctx, &wg, report)
	d.startLanes(ctx, &wg, report)
	d.startHealth(ctx, &wg)

	d.sig.Show(gpio.Idle)
	if ready != nil {
		ready()
	}
	_ = d.n.Ready("ready: scanning")
	d.log.Info("kioskd running", "kiosk", d.cfg.KioskID, "camera", d.describeInputs(), "gpio", d.cfg.GPIO.Driver)

	select {
	case <-ctx.Done():
		d.log.Info("stopping")
		return nil
	case err := <-fail:
		return err
	}
}

// serveHTTP opens the status listener (http.listen) and serves it until ctx
// ends.
func (d *Daemon) serveHTTP(ctx context.Context, wg *stdsync.WaitGroup, report func(error)) error {
	if d.cfg.HTTP.Listen == "" {
		return nil
	}
	srv, err := d.httpServer(ctx, wg, report)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", d.cfg.HTTP.Listen)
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
	d.log.Info("status page", "url", "http://"+ln.Addr().String()+"/")
	return nil
}

// startParts starts the parts with work of their own.
func (d *Daemon) startParts(ctx context.Context, wg *stdsync.WaitGroup, report func(error)) {
	run := func(what string, f func(context.Context) error) {
		wg.Go(func() {
			if err := f(ctx); err != nil && ctx.Err() == nil {
				report(fmt.Errorf("%s: %w", what, err))
			}
		})
	}
	if d.display != nil {
		run("display mode", d.display.Run)
	}
	if d.fleet != nil {
		run("fleet", d.fleet.Run)
	}
	if d.svc != nil {
		run("sync", d.svc.Run)
	}
	if d.up != nil && d.svc == nil { // the service runs its own
		wg.Go(func() { _ = d.up.Run(ctx) })
	}
	for _, o := range d.outputs {
		if r, ok := o.(output.Runner); ok {
			run("output "+o.Describe(), r.Run)
		}
	}
}

// startHealth starts the health watch (status line, metrics, fault
// indication) and systemd's watchdog.
func (d *Daemon) startHealth(ctx context.Context, wg *stdsync.WaitGroup) {
	wg.Go(func() {
		last := ""
		d.mon.Watch(ctx, time.Second, func(ps []string) {
			d.metrics.CacheSize(d.ver.Health(time.Now()).Count)
			if n, err := d.st.PendingCount(); err == nil {
				d.metrics.EventsPending(n)
			}
			line := "ready: scanning"
			if len(ps) > 0 {
				line = "degraded: " + ps[0]
			}
			if line != last {
				last = line
				_ = d.n.Status(line)
				if len(ps) > 0 {
					d.log.Warn("kiosk degraded", "problems", ps)
				} else {
					d.log.Info("kiosk healthy")
				}
			}
		})
	})
	if to, ok := notify.WatchdogInterval(); ok {
		wg.Go(func() {
			_ = d.n.Watchdog(ctx, to, func() bool { return d.mon.Alive(to) }, func(err error) { d.log.Warn("watchdog", "err", err) })
		})
	}
}
