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
					err = assembly.Preflight(&next)
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
