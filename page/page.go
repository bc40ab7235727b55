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

	"github.com/kioskd/kioskd/internal/registry"
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
)

// Verdicts lets a page follow the verdicts live (a scan-mode screen).
type Verdicts interface {
	// Subscribe calls fn with every verdict after the signal showed it,
	// from the scan lane: fn must return at once. cancel stops it.
	Subscribe(fn func(verify.Verdict)) (cancel func())
}

// Lane lets a page put a code through the kiosk's own decision path (a
// staff desk typing a code): verify, the signal and the outputs, as a scan
// would. The text is a bearer secret: never logged or kept.
type Lane interface {
	Submit(ctx context.Context, text string) verify.Verdict
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
	// Lane decides on typed codes.
	Lane Lane
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
