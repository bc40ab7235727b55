package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// cmdClock shows or resets the trusted-time floor: the latest time the
// kiosk knows has passed (see store's package doc, The trusted clock). It is
// a command family of its own, like camera and gpio, rather than a flag of
// status or import: resetting the floor is a repair with its own checks, and
// `clock show` is where an operator looks before it.
func cmdClock(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || (args[0] != "show" && args[0] != "reset") {
		fmt.Fprintln(stderr, "Usage: kioskd clock show -config FILE | kioskd clock reset -config FILE [-to TIME]")
		return exitError, errUsage
	}
	sub := args[0]
	var to *string
	cfg, st, _, rest, err := toolSetup("clock "+sub, "-config FILE", args[1:], stderr, func(fs *flag.FlagSet) {
		if sub == "reset" {
			to = fs.String("to", "", "set the trusted time to this `RFC3339 time` instead of clearing it (not later than this device's clock)")
		}
	})
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	if len(rest) != 0 {
		return exitError, fmt.Errorf("unexpected argument %q", rest[0])
	}
	if sub == "show" {
		return clockShow(st, &cfg, stdout)
	}
	return clockReset(st, *to, stdout)
}

// clockShow is `kioskd clock show`.
func clockShow(st *store.Store, cfg *config.Config, stdout io.Writer) (int, error) {
	now := time.Now()
	cs, err := st.ClockState()
	if err != nil {
		return exitError, err
	}
	h := verify.New(st, verify.Options{Policy: assembly.PolicyOptions(cfg.Policy)}).Health(now)
	fmt.Fprintf(stdout, "device clock  %s\n", fmtTime(now))
	fmt.Fprintf(stdout, "trusted time  %s\n", fmtTime(cs.Floor))
	if h.ClockTrusted {
		fmt.Fprintln(stdout, "clock         trusted")
	} else {
		fmt.Fprintf(stdout, "clock         NOT trusted: the device clock is more than %v earlier than the trusted time\n", cfg.Policy.ClockTolerance)
	}
	fmt.Fprintf(stdout, "bound         %s (the latest a server time may move the trusted time to now)\n", fmtTime(cs.Bound))
	if !cs.Pending.IsZero() {
		fmt.Fprintf(stdout, "held jump     %s (seen at device time %s; trusted if the next sync agrees)\n", fmtTime(cs.Pending), fmtTime(cs.PendingSeen))
	}
	fmt.Fprintf(stdout, "last sync     %s\n", fmtTime(cs.LastSync))
	return exitOK, nil
}

// clockReset is `kioskd clock reset [-to TIME]`.
func clockReset(st *store.Store, to string, stdout io.Writer) (int, error) {
	var target time.Time
	if to != "" {
		var err error
		target, err = time.Parse(time.RFC3339, to)
		if err != nil {
			return exitError, fmt.Errorf("-to: want an RFC3339 time like 2026-12-03T09:00:00Z: %w", err)
		}
		if target.After(time.Now()) {
			return exitError, errors.New("-to is later than this device's clock: that would leave the clock untrusted; set the system clock first (timedatectl) or leave -to out")
		}
	}
	r, err := st.ResetClock(target)
	if err != nil {
		return exitError, err
	}
	m, err := st.Meta()
	if err != nil {
		return exitError, err
	}
	fmt.Fprintf(stdout, "trusted time  %s -> %s\n", fmtTime(r.Before.Floor), fmtTime(r.After.Floor))
	if !r.Before.Pending.IsZero() {
		fmt.Fprintf(stdout, "held jump     %s forgotten\n", fmtTime(r.Before.Pending))
	}
	if !r.Before.LastSync.Equal(r.After.LastSync) {
		fmt.Fprintf(stdout, "last sync     %s -> %s (it was later than the device clock)\n", fmtTime(r.Before.LastSync), fmtTime(r.After.LastSync))
	}
	fmt.Fprintf(stdout, "kept          the cache (%d codes) and every redemption\n", m.Count)
	if r.Restamped > 0 {
		fmt.Fprintf(stdout, "restamped     %d codes whose use was stamped later than the device clock now carry its time (still used; a cooldown runs from now)\n", r.Restamped)
	}
	if r.After.Floor.IsZero() {
		fmt.Fprintln(stdout, "the device clock is trusted until the next successful sync sets the trusted time again")
	}
	return exitOK, nil
}
