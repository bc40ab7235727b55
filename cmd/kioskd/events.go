package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kioskd/kioskd/store"
)

// cmdEvents is the operator's view of the event outbox: list what waits,
// drop what the receiver will never take. The store is the daemon's, so the
// daemon must be stopped first (openStore says so).
func cmdEvents(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) > 0 {
		switch args[0] {
		case "list":
			return cmdEventsList(ctx, args[1:], stdout, stderr)
		case "drop":
			return cmdEventsDrop(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "Usage: kioskd events list -config FILE [-n N]")
	fmt.Fprintln(stderr, "       kioskd events drop -config FILE (-all | -before TIME | -id N[,N...])")
	return exitError, errUsage
}

func cmdEventsList(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var n *int
	_, st, _, rest, err := toolSetup("events list", "-config FILE [-n N]", args, stderr, func(fs *flag.FlagSet) {
		n = fs.Int("n", 20, "list at most `N` events, oldest first")
	})
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	if len(rest) != 0 || *n < 1 {
		return exitError, errors.New("no arguments besides the flags; -n must be at least 1")
	}
	evs, err := st.PendingEvents(*n)
	if err != nil {
		return exitError, err
	}
	total, err := st.PendingCount()
	if err != nil {
		return exitError, err
	}
	// The code's hash is shortened as on the status page; a code never is
	// in an event.
	// input: where the code was read (issue 20), last so older parsers keep working.
	fmt.Fprintln(stdout, "id\ttime\tkind\tkiosk\taccept\treason\thash\tinput")
	for _, e := range evs {
		fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\t%v\t%s\t%.8s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Kind, e.Kiosk, e.Accept, e.Reason, e.Hash, e.Input)
	}
	fmt.Fprintf(stdout, "%d of %d pending events shown\n", len(evs), total)
	return exitOK, nil
}

func cmdEventsDrop(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var all *bool
	var before, ids *string
	_, st, log, rest, err := toolSetup("events drop", "-config FILE (-all | -before TIME | -id N[,N...])", args, stderr, func(fs *flag.FlagSet) {
		all = fs.Bool("all", false, "drop every pending event")
		before = fs.String("before", "", "drop the events stamped before `TIME` (RFC 3339, or a date 2006-01-02 in UTC)")
		ids = fs.String("id", "", "drop the events with these `ids` (comma-separated, as kioskd events list and the status show them)")
	})
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	sel, err := dropSelection(*all, *before, *ids)
	if err != nil {
		return exitError, err
	}
	if len(rest) != 0 {
		return exitError, fmt.Errorf("unexpected argument %q", rest[0])
	}
	n, err := st.DropEvents(sel)
	if err != nil {
		return exitError, err
	}
	left, err := st.PendingCount()
	if err != nil {
		return exitError, err
	}
	log.Warn("events dropped by the operator, never to be uploaded", "dropped", n, "pending", left,
		"all", sel.All, "before", *before, "ids", *ids)
	fmt.Fprintf(stdout, "dropped %d events; %d pending\n", n, left)
	return exitOK, nil
}

// dropSelection turns the flags into a store selection: exactly one of them.
func dropSelection(all bool, before, ids string) (store.EventDrop, error) {
	var sel store.EventDrop
	set := 0
	if all {
		sel.All = true
		set++
	}
	if before != "" {
		t, err := time.Parse(time.RFC3339, before)
		if err != nil {
			t, err = time.Parse(time.DateOnly, before)
		}
		if err != nil {
			return sel, fmt.Errorf("-before %q: want an RFC 3339 time (2026-12-03T09:00:00Z) or a date (2026-12-03)", before)
		}
		sel.Before = t
		set++
	}
	if ids != "" {
		for _, f := range strings.Split(ids, ",") {
			id, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil || id == 0 {
				return sel, fmt.Errorf("-id %q: want event ids (positive numbers), comma-separated", ids)
			}
			sel.IDs = append(sel.IDs, id)
		}
		set++
	}
	if set != 1 {
		return sel, errors.New("give exactly one of -all, -before TIME, -id N")
	}
	return sel, nil
}
