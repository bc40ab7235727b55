// Package output is the registry of verdict consumers: parts that hear every
// decision after the kiosk's signal (the GPIO outputs) has shown it, and hand
// it on (a webhook, an MQTT topic, a counter). The GPIO outputs themselves
// are not outputs in this sense: they are the signal, driven first and
// synchronously, with their drivers registered in package gpio.
//
// A kind is a package that registers itself from init():
//
//	func init() { output.Register("webhook", output.Kind{Open: open}) }
//
// and is linked into kioskd by a blank import in the assembler
// (assembly/kinds.go). See docs/architecture.md.
package output

import (
	"context"
	"log/slog"

	"github.com/kioskd/kioskd/internal/registry"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// Spec is one configured output as its kind's Open receives it.
type Spec struct {
	// Name names the output in logs and the status.
	Name string
	// Kiosk is this kiosk's id (config kiosk_id).
	Kiosk string
	// Decode decodes this output's own configuration into the kind's
	// Options struct (a pointer), strictly. Never nil.
	Decode func(into any) error
	// Logger is never nil.
	Logger *slog.Logger
	// Store is the kiosk's store, for kinds that keep a durable queue in it
	// (output/handoff).
	Store *store.Store
	// Resolve makes a path of the configuration absolute (relative to the
	// config file's folder).
	Resolve func(path string) string
	// Secret reads a secret the entry names, as kioskd reads every secret:
	// the environment variable env when set, else the file as written (a
	// bare name first in $CREDENTIALS_DIRECTORY); "" when neither is set.
	// key is the entry's key, for errors, which never quote the value.
	Secret func(key, file, env string) (string, error)
}

// Output hears verdicts. A verdict carries the code's sha256 (Hash), never
// the code: the code is a bearer secret and goes nowhere.
type Output interface {
	// Verdict is called on the scan lane after the signal was driven. It
	// must return at once: an output that sends over a network queues
	// (bounded, dropping or counting what it cannot keep) and sends from
	// Run.
	Verdict(v verify.Verdict)
	// Describe says what the output is, for logs and the status.
	Describe() string
}

// Runner is an Output with work of its own (a connection, a queue). Run is
// started with the daemon's context once every part is open, and returns
// when it ends; an error before then stops the daemon.
type Runner interface {
	Run(ctx context.Context) error
}

// Reporter is an Output with health of its own: each string is a problem
// line for the status page ("webhook: 12 verdicts not delivered: ...").
// Problems do not make the kiosk unhealthy unless Unhealthy says so.
type Reporter interface {
	Problems() (lines []string, unhealthy bool)
}

// Kind opens outputs of one kind.
type Kind struct {
	// Open makes the output from its Spec. It starts no goroutine and
	// holds no connection (Runner.Run does): an output opened before a
	// later part fails is simply dropped.
	Open func(ctx context.Context, s Spec) (Output, error)
	// Check, if set, validates a configuration block without opening
	// anything (config load, SIGHUP preflight).
	Check func(decode func(into any) error) error
	// Preflight, if set, reads what Open will read (secrets, CA files)
	// without making the output: a SIGHUP reload that would fail at start
	// is refused while the running configuration stays. Spec.Store is nil.
	Preflight func(s Spec) error
}

var kinds = registry.New[Kind]("output kind")

// Register adds an output kind; call it from init(). It panics on a
// duplicate name.
func Register(name string, k Kind) {
	if k.Open == nil {
		panic("output: kind " + name + " without Open")
	}
	kinds.Register(name, k)
}

// Lookup returns the kind registered as name.
func Lookup(name string) (Kind, error) { return kinds.Lookup(name) }

// Kinds lists the registered kinds.
func Kinds() []string { return kinds.Names() }
