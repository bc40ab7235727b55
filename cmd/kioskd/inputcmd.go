package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	stdsync "sync"

	"github.com/kioskd/kioskd/config"
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
	for _, in := range cfg.Inputs() {
		if in.Type == config.InputCamera {
			say(in.Name, "skip", "camera %s: see it with kioskd camera snapshot, decode with kioskd decode", in.Device)
			continue
		}
		hinted := false
		onState := func(s input.State) {
			if s.Up {
				say(in.Name, "up", "%s", s.Detail)
				return
			}
			hint := ""
			if !hinted {
				hint, hinted = " (a running kioskd holds the scanner: stop it first)", true
			}
			say(in.Name, "down", "%s%s", s.Detail, hint)
		}
		// The readers log nothing here: what they say is printed above.
		r, err := newReader(in, slog.New(slog.DiscardHandler), onState)
		if err != nil {
			return exitError, fmt.Errorf("inputs: %s: %w", in.Name, err)
		}
		say(in.Name, "open", "%s, terminator %s", r.Describe(), in.Terminator)
		readers = append(readers, func() error {
			return r.Run(ctx, func(s input.Scan) {
				say(in.Name, "read", "%s", describeRead(s.Text))
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
		return exitError, fmt.Errorf("%s has no scanner inputs (inputs: with type hid or serial)", *cfgPath)
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
