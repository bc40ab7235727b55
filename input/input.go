// Package input is the registry of input kinds: where the codes a kiosk
// decides on come from. An input is either a frame source (a camera: its
// frames go through the QR decoder) or a text source (a 2D barcode scanner
// that yields the decoded text itself). Both feed the same lane after that:
// the payload rule, presence suppression, verify, the signal and the outputs
// (kiosk.Pipeline).
//
// A kind is a package that registers itself from init():
//
//	func init() { input.Register("hid", input.Kind{Open: open}) }
//
// and is linked into kioskd by a blank import in the assembler
// (assembly/kinds.go). Nothing else is edited to add one. See
// docs/architecture.md.
package input

import (
	"context"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/internal/registry"
	"github.com/kioskd/kioskd/scanner"
)

// Spec is one configured input as its kind's Open receives it.
type Spec struct {
	// Name names the input in logs and the status ("camera" for the
	// camera: section).
	Name string
	// Decode decodes this input's own configuration into the kind's
	// Options struct (a pointer). The assembler checks every block at
	// config load through the same call, so an unknown key or a bad value
	// stops kioskd with the key named. Never nil.
	Decode func(into any) error
	// Logger is never nil.
	Logger *slog.Logger
	// OnState hears every change of the input's health (device up with
	// what it is, or down with the fault), from the goroutine running the
	// input. Never nil.
	OnState func(scanner.State)
	// Script makes a replayed input yield every item in turn however slow
	// the lane is, instead of dropping what a live device would have
	// dropped (kioskd demo's script).
	Script bool
}

// Input is an opened input: a Frames or a Text.
type Input interface {
	// Describe says what the input actually is, for logs and the status.
	Describe() string
}

// Frames is an input yielding camera frames; the lane decodes them.
// scanner.Source is one.
type Frames interface {
	Input
	// Run calls fn with each frame until ctx ends or the source ends for
	// good. Frames come on one goroutine; a source drops frames while fn
	// runs rather than queueing them.
	Run(ctx context.Context, fn func(scanner.Frame)) error
}

// Read is one code read by a text input. Text is a bearer secret: it is
// never logged or kept.
type Read struct {
	Text string
	At   time.Time // when it was read; zero means now
}

// Text is an input yielding decoded text (a barcode scanner in keyboard or
// serial mode).
type Text interface {
	Input
	// Read calls fn with each read until ctx ends or the device is gone for
	// good (a device unplugged and back is ridden out inside Read, with
	// OnState telling the lane). fn returns once the verdict is shown.
	Read(ctx context.Context, fn func(Read)) error
}

// Kind opens inputs of one kind.
type Kind struct {
	// Open makes the input from its Spec. It neither waits for the device
	// nor starts a goroutine or holds it open (Run/Read does): a missing
	// device is a fault Run/Read rides out, reported through
	// Spec.OnState, and an input opened before a later part fails is
	// simply dropped.
	Open func(ctx context.Context, s Spec) (Input, error)
	// Check, if set, validates a configuration block without opening
	// anything (config load, SIGHUP preflight). Nil: the block is first
	// checked when Open runs.
	Check func(decode func(into any) error) error
}

var kinds = registry.New[Kind]("input kind")

// Register adds an input kind; call it from init(). It panics on a
// duplicate name.
func Register(name string, k Kind) {
	if k.Open == nil {
		panic("input: kind " + name + " without Open")
	}
	kinds.Register(name, k)
}

// Lookup returns the kind registered as name.
func Lookup(name string) (Kind, error) { return kinds.Lookup(name) }

// Kinds lists the registered kinds.
func Kinds() []string { return kinds.Names() }
