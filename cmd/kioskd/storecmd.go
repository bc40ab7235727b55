package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/store"
)

// cmdStore is `kioskd store check|recover`: what an operator does about a
// damaged store file (docs/operations.md, "A damaged store").
func cmdStore(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	const synopsis = "check|recover -config FILE"
	if len(args) == 0 || (args[0] != "check" && args[0] != "recover") {
		fmt.Fprintf(stderr, "Usage: kioskd store %s\n"+
			"  check    read the whole store file: exit 0 healthy, 2 damaged\n"+
			"  recover  copy what is readable into a fresh store, keep the damaged file aside\n", synopsis)
		if len(args) > 0 && strings.Trim(args[0], "-") == "h" || len(args) > 0 && strings.Trim(args[0], "-") == "help" {
			return exitOK, nil
		}
		return exitError, errUsage
	}
	sub := args[0]
	fs := newFlags("store "+sub, "-config FILE", stderr)
	cfgPath := configFlag(fs)
	if err := parse(fs, args[1:]); err != nil {
		return exitError, err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return exitError, err
	}
	path := assembly.StorePath(&cfg)
	if sub == "check" {
		return storeCheck(path, *cfgPath, stdout)
	}
	return storeRecover(path, stdout, stderr)
}

func storeCheck(path, cfgPath string, stdout io.Writer) (int, error) {
	r, err := store.Check(path, store.Options{})
	if err != nil {
		return exitError, lockedHint(err)
	}
	fmt.Fprintf(stdout, "store\t%s\n", path)
	fmt.Fprintf(stdout, "size\t%d bytes (%d in use, pages of %d bytes)\n", r.Size, r.InUse, r.PageSize)
	for _, b := range r.Buckets {
		fmt.Fprintf(stdout, "bucket\t%s\t%d keys\n", b.Name, b.Keys)
	}
	fmt.Fprintf(stdout, "took\t%v\n", r.Took.Round(1e6))
	if r.Healthy() {
		fmt.Fprintln(stdout, "healthy")
		return exitOK, nil
	}
	for _, p := range r.Problems {
		fmt.Fprintf(stdout, "problem\t%s\n", p)
	}
	fmt.Fprintln(stdout, "DAMAGED")
	return exitError, fmt.Errorf("the store file is damaged: %s; stop the daemon and run: kioskd store recover -config %s",
		r.Problems[0], cfgPath)
}

func storeRecover(path string, stdout, stderr io.Writer) (int, error) {
	r, err := store.Recover(path, store.Options{})
	if err != nil {
		return exitError, lockedHint(err)
	}
	if r.Aside != "" {
		fmt.Fprintf(stdout, "the damaged file is kept as %s\n", r.Aside)
	}
	if r.Unreadable != "" {
		fmt.Fprintf(stdout, "nothing could be read: %s\n", r.Unreadable)
	}
	for _, b := range r.Buckets {
		state := "complete"
		if !b.Complete {
			state = "INCOMPLETE: " + b.Problem
		}
		fmt.Fprintf(stdout, "recovered\t%s\t%d keys\t%s\n", b.Name, b.Keys, state)
	}
	if r.CacheDropped {
		fmt.Fprintln(stdout, "the code cache was damaged and is left out: run kioskd sync (or import) before the kiosk can accept")
	}
	fmt.Fprintf(stdout, "recovered %d redemptions into a fresh store at %s\n", r.Redemptions(), path)
	if r.Unreadable != "" || !recoveredAll(r, "redemptions") {
		// The one loss an operator must know about before opening the door.
		fmt.Fprintln(stderr, "WARNING: redemptions were lost: single-use codes used before the damage may be accepted again")
	}
	return exitOK, nil
}

// recoveredAll is true when bucket name was copied whole.
func recoveredAll(r store.RecoverReport, name string) bool {
	for _, b := range r.Buckets {
		if b.Name == name {
			return b.Complete
		}
	}
	return false
}

func lockedHint(err error) error {
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w: is the kioskd daemon running? stop it first (systemctl stop kioskd)", err)
	}
	return err
}
