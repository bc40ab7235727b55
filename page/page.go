// Package page is the registry of HTTP pages mounted on the kiosk's local
// listener (http.listen) beside the status page: a staff desk, a scan-mode
// screen. Every page is served behind the listener's Host check (DNS
// rebinding) and the guard it asks for; a page never sees the token.
//
// A kind is a package that registers itself from init():
//
//	func init() { page.Register("desk", page.Kind{Open: open}) }
//
// and is linked into kioskd by a blank import in the assembler
// (assembly/kinds.go). See docs/architecture.md.
package page

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kioskd/kioskd/internal/registry"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/verify"
)

// Guard is who may load a page.
type Guard int

const (
	// Token: every client needs http.token_file's token when one is set
	// (as /metrics and the status page).
	Token Guard = iota
	// TokenOffLoopback: the kiosk's own screen (a loopback client) needs
	// no token, any other client does (as the display page).
	TokenOffLoopback
	// Own: the page decides who may use it itself (a staff desk's named
	// tokens); the listener's token is neither needed nor enough.
	Own
)

// Verdicts lets a page follow the verdicts live (a scan-mode screen).
type Verdicts interface {
	// Subscribe calls fn with every verdict after the signal showed it,
	// from the scan lane: fn must return at once. cancel stops it.
	Subscribe(fn func(verify.Verdict)) (cancel func())
}

// Hints lets a page follow the camera's live hint: what the decoder saw in
// frames without a readable code (too far, too dark), debounced.
type Hints interface {
	// Subscribe calls fn with the hint now, then with each change, from
	// the camera lane: fn must return at once. HintNone clears it (the code
	// was read, or nothing code-like is in view). cancel stops it.
	Subscribe(fn func(scanner.Hint)) (cancel func())
}

// Lane lets a page put a code through the kiosk's own decision path (a
// staff desk typing a code): verify, the signal and the outputs, as a scan
// would. The text is a bearer secret: never logged or kept.
type Lane interface {
	Submit(ctx context.Context, text string) verify.Verdict
	// SubmitWith is Submit with options (a desk's look-up, a check that
	// does not open the door).
	SubmitWith(ctx context.Context, text string, o SubmitOpts) verify.Verdict
}

// SubmitOpts modify one Lane.SubmitWith.
type SubmitOpts struct {
	// DryRun decides without recording anything; nobody but the caller
	// hears the verdict.
	DryRun bool
	// Signal shows the verdict on the door's outputs (an accept opens it).
	Signal bool
	// Input names where the code was presented (verify.Verdict.Input).
	Input string
}

// Door opens the door on purpose (a staff desk's manual open).
type Door interface {
	// ManualOpen records the opening (who, why) durably, then opens the
	// door; an error means it was not recorded and the door stays shut.
	ManualOpen(ctx context.Context, staff, reason string) error
}

// Health is what keeps the kiosk from checking codes, for a page's fault
// notice.
type Health struct{ Camera, Store, Clock bool }

// Metrics is the registry a page adds its own series to.
type Metrics interface {
	Register(c prometheus.Collector) error
}

// Env is what a page kind's Open gets.
type Env struct {
	// Name names the page in logs.
	Name  string
	Kiosk string
	// Decode decodes this page's own configuration into the kind's Options
	// struct (a pointer), strictly. Never nil.
	Decode func(into any) error
	// Logger is never nil.
	Logger *slog.Logger
	// Status is the running daemon's status snapshot.
	Status status.Provider
	// Verdicts follows the verdicts.
	Verdicts Verdicts
	// Hints follows the camera's hint (nil without a camera).
	Hints Hints
	// Lane decides on typed codes.
	Lane Lane
	// Door opens the door on purpose.
	Door Door
	// Health reports the kiosk's health now; it returns quickly.
	Health func() Health
	// ReadSecret reads one of the page's secrets as the config's own are
	// read (the environment variable env first; a bare file name from
	// systemd's credentials; a relative path against the config's folder);
	// errors name the page's key, never the value.
	ReadSecret func(key, file, env string) (string, error)
	// Metrics takes the page's own series.
	Metrics Metrics
}

// Page is a handler mounted at Path (a http.ServeMux pattern such as
// "/desk/"), behind Guard.
type Page struct {
	Path    string
	Handler http.Handler
	Guard   Guard
}

// Runner is a Page handler with work of its own (a live feed). Run is
// started with the daemon's context; it must return when ctx ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Kind opens pages of one kind.
type Kind struct {
	// Open makes the page. It starts no goroutine (a Runner handler's Run
	// does, started with the listener).
	Open func(ctx context.Context, e Env) (Page, error)
	// Check, if set, validates a configuration block without opening
	// anything (config load, SIGHUP preflight).
	Check func(decode func(into any) error) error
	// Preflight, if set, also reads and checks what the block names
	// outside the config file (its secret files, through readSecret as
	// Env.ReadSecret), holding nothing: before a SIGHUP stops the running
	// generation, so that a page that could not open refuses the reload
	// rather than failing the new generation's start-up.
	Preflight func(decode func(into any) error, readSecret func(key, file, env string) (string, error)) error
}

var kinds = registry.New[Kind]("page kind")

// Register adds a page kind; call it from init(). It panics on a duplicate
// name.
func Register(name string, k Kind) {
	if k.Open == nil {
		panic("page: kind " + name + " without Open")
	}
	kinds.Register(name, k)
}

// Lookup returns the kind registered as name.
func Lookup(name string) (Kind, error) { return kinds.Lookup(name) }

// Kinds lists the registered kinds.
func Kinds() []string { return kinds.Names() }
