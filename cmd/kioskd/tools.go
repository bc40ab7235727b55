package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync"
	"github.com/kioskd/kioskd/verify"
)

// toolSetup loads the config and opens the store for a one-shot command.
func toolSetup(name, synopsis string, args []string, stderr io.Writer, extra func(fs *flag.FlagSet)) (config.Config, *store.Store, *slog.Logger, []string, error) {
	fs := newFlags(name, synopsis, stderr)
	cfgPath := configFlag(fs)
	if extra != nil {
		extra(fs)
	}
	if err := parse(fs, args); err != nil {
		return config.Config{}, nil, nil, nil, err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	log := newLogger(stderr, cfg.LogLevel)
	st, err := assembly.OpenStore(&cfg, log)
	if err != nil {
		return cfg, nil, nil, nil, err
	}
	return cfg, st, log, fs.Args(), nil
}

func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var apply *bool
	cfg, st, log, _, err := toolSetup("sync", "-config FILE [-apply-held-back]", args, stderr, func(fs *flag.FlagSet) {
		apply = fs.Bool("apply-held-back", false, "replace the cache even if the server's list would empty it "+
			"or shrink it past bitbadges.hold_back_drop (the codes were really removed)")
	})
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	svc, err := assembly.NewSync(&cfg, st, log, nil)
	if err != nil {
		return exitError, err
	}
	before, _ := st.Meta()
	r, err := svc.Syncer.SyncWith(ctx, sync.SyncOptions{ApplyHeldBack: *apply})
	if errors.Is(err, sync.ErrHeldBack) {
		return exitError, fmt.Errorf("pre-fetch complete but held back, the old cache of %d codes is unchanged: %w", before.Count, err)
	}
	if err != nil {
		return exitError, fmt.Errorf("pre-fetch failed, the old cache is unchanged: %w", err)
	}
	fmt.Fprintf(stdout, "synced %d codes (%d records, %d duplicates; %d pages, %d deleted skipped, %d malformed skipped",
		r.Codes, r.Records, r.Duplicates, r.Pages, r.Deleted, r.Malformed)
	if r.Normalised > 0 {
		fmt.Fprintf(stdout, ", %d sent in upper case", r.Normalised)
	}
	fmt.Fprintf(stdout, ") in %v\n", r.Duration.Round(time.Millisecond))
	if *apply && before.Count > r.Codes {
		fmt.Fprintf(stdout, "applied as asked: the cache went from %d to %d codes\n", before.Count, r.Codes)
	}
	if r.Owners.Tokens > 0 {
		fmt.Fprintf(stdout, "synced %d badge owners of %d tokens (%d pages)\n", r.Owners.Owners, r.Owners.Tokens, r.Owners.Pages)
	}
	return exitOK, nil
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var dryRun *bool
	var direction *string
	cfg, st, log, rest, err := toolSetup("check", "-config FILE [-dry-run] CODE", args, stderr, func(fs *flag.FlagSet) {
		dryRun = fs.Bool("dry-run", false, "decide only: record no redemption and no event")
		direction = fs.String("direction", "", "entry or exit, for anti-passback")
	})
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	if len(rest) != 1 {
		return exitError, errors.New("give exactly one CODE (64 hex characters, or a URL with ?code=)")
	}
	// The online exchange and the badge re-check need the sync's client;
	// a dry run uses neither.
	var svc *sync.Service
	if (cfg.BitBadges.OnlineExchange || (cfg.Access.Gated() && cfg.BitBadges.ClientID != "")) && !*dryRun {
		if svc, err = assembly.NewSync(&cfg, st, log, nil); err != nil {
			return exitError, err
		}
	}
	v := assembly.NewVerifier(st, &cfg, log, svc)
	code, perr := scanner.ParsePayload(rest[0])
	var verdict verify.Verdict
	switch {
	case perr != nil && *dryRun:
		verdict = verify.Verdict{Reason: verify.NotACode, At: time.Now()}
	case perr != nil:
		verdict = v.NotACode(ctx)
	default:
		verdict = v.Check(ctx, code, verify.CheckOpts{DryRun: *dryRun, Direction: *direction})
	}
	word := "reject"
	if verdict.Accept {
		word = "accept"
	}
	fmt.Fprintf(stdout, "%s\t%s", word, verdict.Reason)
	// The name comes from the server: untrusted text, cleaned as status cleans it.
	if verdict.Name != "" {
		fmt.Fprintf(stdout, "\t%s", status.OneLine(verdict.Name))
	}
	// Which badge requirement failed (or was met): the operator's first question.
	if verdict.Requirement != "" {
		fmt.Fprintf(stdout, "\trequirement: %s", status.OneLine(verdict.Requirement))
	}
	if verdict.Warning != "" {
		fmt.Fprintf(stdout, "\twarning: %s", status.OneLine(verdict.Warning))
	}
	if s := checkVisitText(verdict, *dryRun); s != "" { // visits.go
		fmt.Fprintf(stdout, "\t%s", s)
	}
	fmt.Fprintln(stdout)
	switch {
	case verdict.Accept:
		return exitOK, nil
	case verdict.Reason == verify.Error:
		return exitError, errors.New("could not decide (see the log)")
	}
	return exitReject, nil
}

func cmdExport(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	_, st, _, rest, err := toolSetup("export", "-config FILE OUT", args, stderr, nil)
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	if len(rest) != 1 {
		return exitError, errors.New("give exactly one output FILE")
	}
	// Written beside the target and renamed, so a full USB stick never
	// leaves a half file under the final name.
	tmp := rest[0] + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return exitError, fmt.Errorf("export: %w", err)
	}
	err = st.Export(f)
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(tmp, rest[0])
	}
	if err != nil {
		os.Remove(tmp)
		return exitError, fmt.Errorf("export to %s: %w", rest[0], err)
	}
	m, _ := st.Meta()
	fmt.Fprintf(stdout, "exported %d codes (synced %s) to %s\n", m.Count, fmtTime(m.LastSync), rest[0])
	return exitOK, nil
}

func cmdImport(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	_, st, _, rest, err := toolSetup("import", "-config FILE IN", args, stderr, nil)
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	if len(rest) != 1 {
		return exitError, errors.New("give exactly one input FILE")
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return exitError, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	n, err := st.Import(f)
	if err != nil {
		return exitError, fmt.Errorf("import of %s refused, the old cache is unchanged: %w", rest[0], err)
	}
	fmt.Fprintf(stdout, "imported %d codes from %s\n", n, rest[0])
	return exitOK, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.RFC3339)
}
