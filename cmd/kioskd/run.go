package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	stdsync "sync"
	"syscall"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/notify"
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
	r := &reloader{path: *cfgPath, stderr: stderr, n: notify.FromEnv(), cfg: cfg, log: newLogger(stderr, cfg.LogLevel)}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		again, err := r.generation(ctx, hup)
		switch {
		case again:
			continue
		case err != nil:
			return exitError, err
		}
		return exitOK, nil
	}
}

// reloader runs the daemon one configuration at a time. Each configuration
// runs as one generation of the daemon. SIGHUP loads the file again: a bad
// new config is refused and the running generation goes on untouched; a
// good one replaces it (outputs released and re-driven to their safe level
// in between). "Bad" includes what only start-up would find (preflight);
// should the new generation still fail before it is ready (a port taken,
// the store), the previous configuration is started again rather than the
// daemon ending.
type reloader struct {
	path   string
	stderr io.Writer
	n      *notify.Notifier
	cfg    config.Config
	log    *slog.Logger
	// prev is set while a reloaded generation starts: the configuration to
	// go back to should it fail before it is ready.
	prev *config.Config
}

// generation runs r.cfg until it ends; again is true when another
// generation is to run (a reload, or a fallback to the previous config).
func (r *reloader) generation(ctx context.Context, hup <-chan os.Signal) (again bool, err error) {
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	var readyOnce stdsync.Once
	gctx = withReadyHook(gctx, func() { readyOnce.Do(func() { close(ready) }) })
	done := make(chan error, 1)
	go func() { done <- runDaemon(gctx, r.cfg, r.log, r.n) }()
	for {
		select {
		case err := <-done:
			return r.ended(ctx, err, closed(ready))
		case <-ready:
			r.prev = nil // the new configuration is the one to keep now
			ready = nil
		case <-hup:
			if r.reload(cancel, done) {
				return true, nil
			}
		}
	}
}

// ended handles a generation's end: a reloaded one that failed before it
// was ready gives way to the previous configuration.
func (r *reloader) ended(ctx context.Context, err error, wasReady bool) (again bool, _ error) {
	if err != nil && r.prev != nil && !wasReady && ctx.Err() == nil {
		r.log.Error("reload failed at start-up: going back to the previous configuration", "err", err)
		_ = r.n.Status("reload failed at start-up, previous configuration restored: " + err.Error())
		r.cfg, r.prev = *r.prev, nil
		r.log = newLogger(r.stderr, r.cfg.LogLevel)
		return true, nil
	}
	_ = r.n.Stopping()
	return false, err
}

// reload loads the file again on SIGHUP. A config that fails to load or to
// preflight is refused (false: the generation runs on); a good one stops
// the running generation (cancel, then waits for done) and becomes r.cfg.
func (r *reloader) reload(cancel context.CancelFunc, done <-chan error) bool {
	next, err := loadConfig(r.path)
	if err == nil {
		err = assembly.Preflight(&next)
	}
	if err != nil {
		r.log.Error("reload refused: the running configuration stays", "err", err)
		_ = r.n.Status("reload refused: " + err.Error())
		return false
	}
	r.log.Info("reloading configuration")
	_ = r.n.Reloading()
	cancel()
	if err := <-done; err != nil {
		r.log.Error("stopping for reload", "err", err)
	}
	// A generation cut short before it was ready is not one to go back
	// to: the last one that was stays the fallback.
	if r.prev == nil {
		running := r.cfg
		r.prev = &running
	}
	r.cfg = next
	r.log = newLogger(r.stderr, r.cfg.LogLevel)
	return true
}

// runDaemon runs one generation until ctx ends or a part fails for good:
// the assembler opens and runs what cfg names.
func runDaemon(ctx context.Context, cfg config.Config, log *slog.Logger, n *notify.Notifier) error {
	_ = n.Status("starting")
	d, err := assembly.Open(ctx, cfg, assembly.Options{Logger: log, Notifier: n, Version: version})
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Run(ctx, func() { generationReady(ctx) })
}
