package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	stdsync "sync"

	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
)

// cmdInput is `kioskd input test`: an installer fitting a scanner sees what
// each configured scanner input reads (and whether its device opens),
// through the same readers the daemon runs, without verifying anything.
func cmdInput(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(stderr, "Usage: kioskd input test -config FILE [-count N] [-for DURATION]")
		return exitError, errUsage
	}
	fs := newFlags("input test", "-config FILE [-count N] [-for DURATION]", stderr)
	cfgPath := configFlag(fs)
	count := fs.Int("count", 0, "stop after `N` reads in all (0: until interrupted)")
	dur := fs.Duration("for", 0, "stop after `DURATION` (0: until interrupted)")
	if err := parse(fs, args[1:]); err != nil {
		return exitError, err
	}
	if *count < 0 || *dur < 0 {
		return exitError, errors.New("-count and -for must not be negative")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return exitError, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *dur > 0 {
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	var mu stdsync.Mutex // one line at a time from the readers' goroutines
	say := func(name, what, format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, "%-16s %-5s %s\n", name, what, fmt.Sprintf(format, a...))
	}
	reads := 0
	var readers []func() error
	if cfg.Camera.Source != "none" {
		say("camera", "skip", "%s: see it with kioskd camera snapshot, decode with kioskd decode", cfg.Camera.Source)
	}
	for _, p := range cfg.Inputs {
		hinted := false
		onState := func(s scanner.State) {
			if s.Up {
				say(p.Name, "up", "%s", s.Detail)
				return
			}
			hint := ""
			if !hinted {
				hint, hinted = " (a running kioskd holds the scanner: stop it first)", true
			}
			say(p.Name, "down", "%s%s", s.Detail, hint)
		}
		kind, err := input.Lookup(p.Kind)
		if err != nil {
			return exitError, fmt.Errorf("inputs: %s: %w", p.Name, err)
		}
		// The readers log nothing here: what they say is printed above.
		in, err := kind.Open(ctx, input.Spec{Name: p.Name, Decode: p.Decode, Logger: slog.New(slog.DiscardHandler), OnState: onState})
		if err != nil {
			return exitError, fmt.Errorf("inputs: %s: %w", p.Name, err)
		}
		text, ok := in.(input.Text)
		if !ok {
			say(p.Name, "skip", "%s: not a scanner", in.Describe())
			continue
		}
		say(p.Name, "open", "%s", in.Describe())
		readers = append(readers, func() error {
			return text.Read(ctx, func(r input.Read) {
				say(p.Name, "read", "%s", describeRead(r.Text))
				mu.Lock()
				reads++
				done := *count > 0 && reads >= *count
				mu.Unlock()
				if done {
					cancel()
				}
			})
		})
	}
	if len(readers) == 0 {
		return exitError, fmt.Errorf("%s has no scanner inputs (inputs: with kind hid or serial)", *cfgPath)
	}
	var wg stdsync.WaitGroup
	errs := make([]error, len(readers))
	for i, run := range readers {
		wg.Go(func() { errs[i] = run() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// describeRead says what a read is without showing a kiosk code: the
// length, and for a code the prefix of its hash that the status page and
// the events show; other text is shown (quoted, cut at 80 characters) so a
// wrong keyboard layout or terminator is plain to see.
func describeRead(text string) string {
	code, err := scanner.ParsePayload(text)
	if err == nil {
		return fmt.Sprintf("%d characters: a kiosk code (hash %s)", len(text), store.HashCode(code)[:status.HashPrefixLen])
	}
	shown := text
	if len(shown) > 80 {
		shown = shown[:80] + "…"
	}
	return fmt.Sprintf("%d characters: not a kiosk code: %q", len(text), shown)
}
