// Command kioskd is the QR verifier appliance daemon and its tools.
//
// It only parses flags, loads the config and wires the parts; everything it
// does lives in the packages beside it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
)

// version is set at release build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, shared by every subcommand; `check` adds 1 for a reject.
const (
	exitOK     = 0
	exitReject = 1
	exitError  = 2
)

// errUsage marks a command-line mistake: the usage was printed already.
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error)
}

func commands() []command {
	return []command{
		{"run", "run the daemon (the default with no subcommand)", cmdRun},
		{"demo", "the whole kiosk on an embedded default: no camera, GPIO or network", cmdDemo},
		{"sync", "one full pre-fetch of the BitBadges codes now", cmdSync},
		{"check", "verify one code as if scanned (exit 0 accept, 1 reject, 2 error)", cmdCheck},
		{"decode", "decode QR images the way the daemon decodes frames (TSV)", cmdDecode},
		{"status", "cache, sync, events, camera and GPIO state", cmdStatus},
		{"export", "write the code cache to a file for a kiosk that has never been online", cmdExport},
		{"import", "replace the code cache with an exported file", cmdImport},
		{"events", "the event outbox: events list | events drop -config FILE (-all | -before TIME | -id N)", cmdEvents},
		{"outputs", "the hand-off queues: outputs list | outputs drop -config FILE NAME", cmdOutputs}, // issue 21
		{"store", "the store file: store check | store recover (a damaged store)", cmdStore},
		{"camera", "installer tools: camera list | camera snapshot -o FILE.png", cmdCamera},
		{"gpio", "installer tools: gpio test | gpio release -config FILE", cmdGPIO},
		{"input", "installer tool: input test -config FILE: what each scanner input reads", cmdInput}, // issue 20
		{"fleet", "fleet drop -config FILE: discard local redemptions never published to the fleet", cmdFleet},
		{"visits", "visits -config FILE ADDRESS: a holder's loyalty visits this period (policy.visits)", cmdVisits},
		{"clock", "the trusted time: clock show | clock reset -config FILE (daemon stopped)", cmdClock},
		{"version", "print the version", cmdVersion},
	}
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			usage(stdout)
			return exitOK
		}
	}
	name := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		code, err := c.run(ctx, args, stdout, stderr)
		switch {
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.Is(err, errUsage):
			return exitError
		case err != nil:
			fmt.Fprintf(stderr, "kioskd %s: %v\n", name, err)
			if code == exitOK {
				code = exitError
			}
		}
		return code
	}
	fmt.Fprintf(stderr, "kioskd: unknown command %q\n\n", name)
	usage(stderr)
	return exitError
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: kioskd [command] [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'kioskd COMMAND -h' for a command's flags.")
}

// newFlags makes a FlagSet whose errors and -h go to stderr with a synopsis.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kioskd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kioskd %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; a bad flag has printed its usage already.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// configFlag adds the -config flag every daemon-side command takes.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "/etc/kioskd/kioskd.yaml", "configuration `file` (YAML)")
}

func loadConfig(path string) (config.Config, error) {
	return assembly.Load(path)
}

// newLogger returns a slog logger for the config's level. Under systemd the
// journal adds its own timestamps, so the time attribute is dropped there.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("version", "", stderr)
	if err := parse(fs, args); err != nil {
		return exitError, err
	}
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	fmt.Fprintf(stdout, "kioskd %s\n", v)
	return exitOK, nil
}
