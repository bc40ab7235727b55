package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/verify"
)

// The loyalty visit counter (policy.visits) on the command line: the
// visit on `kioskd check`'s line and `kioskd visits ADDRESS`; its status
// and metrics are the assembler's (assembly/visits.go).

// checkVisitText is the visit on `kioskd check`'s line ("" without one).
func checkVisitText(v verify.Verdict, dryRun bool) string {
	s := status.VisitLabel(v.Visit, v.VisitPeriod, v.VisitCounted)
	if s != "" && dryRun {
		s += " if scanned now (dry run: not counted)"
	}
	return s
}

func cmdVisits(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	cfg, st, _, rest, err := toolSetup("visits", "-config FILE ADDRESS", args, stderr, nil)
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	if len(rest) != 1 {
		return exitError, errors.New("give exactly one ADDRESS (the holder's bitbadgesAddress, as in the hand-off)")
	}
	if !cfg.Policy.Visits.Enabled() {
		return exitError, errors.New("policy.visits is not set: this kiosk counts no visits")
	}
	ver := assembly.NewVerifier(st, &cfg, nil, nil)
	now := time.Now()
	vs, _, err := ver.HolderVisits(rest[0], now)
	if err != nil {
		return exitError, fmt.Errorf("reading visits: %w", err)
	}
	fmt.Fprintf(stdout, "%s\t%d visits in %s", status.OneLine(rest[0]), vs.Count, vs.Period)
	if !vs.Last.IsZero() {
		fmt.Fprintf(stdout, "\tlast %s", vs.Last.In(cfg.Policy.Visits.Location()).Format(time.RFC3339))
	}
	switch {
	case vs.Full:
		fmt.Fprint(stdout, "\tfull: no more visits counted this period")
	case vs.Counted:
		fmt.Fprint(stdout, "\ta scan now is a new visit")
	default:
		next := vs.Last.Add(cfg.Policy.Visits.Cooldown)
		fmt.Fprintf(stdout, "\ta scan before %s is the same visit", next.In(cfg.Policy.Visits.Location()).Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	return exitOK, nil
}
