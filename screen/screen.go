package screen

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/verify"
)

// Hint is what the decoder saw in a frame it could not read. Its values are
// plain names; the page kind maps the camera lane's scanner.Hint onto them
// (kind.go).
type Hint string

// Hints the screen knows how to say. Any other non-empty Hint is shown as
// the generic "code seen but not readable".
const (
	HintNone      Hint = ""
	HintTooFar    Hint = "too-far"
	HintTooClose  Hint = "too-close"
	HintTooDark   Hint = "too-dark"
	HintTooBright Hint = "too-bright"
	HintBlurry    Hint = "blurry"
	HintPartial   Hint = "partial"
)

// Words is the hint for the person holding the code.
func (h Hint) Words() string {
	switch h {
	case HintNone:
		return ""
	case HintTooFar:
		return "bring the code closer"
	case HintTooClose:
		return "hold your code a little further away"
	case HintTooDark:
		return "more light needed"
	case HintTooBright:
		return "tilt your screen: there is glare"
	case HintBlurry:
		return "hold still"
	case HintPartial:
		return "show the whole code to the camera"
	}
	return "code seen but not readable: hold it steady, facing the camera"
}

// Faults are the parts of the kiosk that keep it from checking codes.
type Faults struct {
	Camera bool // down, or no frame for a while
	Store  bool // damaged, or cannot record verdicts
	Clock  bool // untrusted
}

// Notice is the fault notice for the person at the kiosk ("" when none).
func (f Faults) Notice() string {
	var parts []string
	if f.Camera {
		parts = append(parts, "the camera is not working")
	}
	if f.Store {
		parts = append(parts, "entries cannot be recorded")
	}
	if f.Clock {
		parts = append(parts, "the clock is not set")
	}
	if len(parts) == 0 {
		return ""
	}
	return "Out of order: " + strings.Join(parts, ", ") + ". Please see staff."
}

// Options configure a Screen.
type Options struct {
	// ShowName shows the record's display name with an accept.
	ShowName bool
	// Hold is how long a verdict stays on screen (default 4s).
	Hold time.Duration
	// MaxClients bounds the open event streams (default 4).
	MaxClients int
	// Location is the zone times are shown in (time.Local when nil).
	Location *time.Location
	// Health, when set, is polled by Run for the fault notice. It must
	// return quickly and not block.
	Health func() Faults
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
}

// Mode is what the screen shows.
type Mode string

const (
	Idle   Mode = "idle"
	Accept Mode = "accept"
	Reject Mode = "reject"
)

// View is one state of the screen, as the page receives it.
type View struct {
	Seq    uint64 `json:"seq"`
	Mode   Mode   `json:"mode"`
	Title  string `json:"title"`
	Reason string `json:"reason,omitempty"`
	Name   string `json:"name,omitempty"`
	Hint   string `json:"hint,omitempty"`
	Fault  string `json:"fault,omitempty"`
	// At is the verdict's decision time (zero while idle): the page does not
	// need it, a latency measurement does.
	At time.Time `json:"at,omitzero"`
}

// Screen holds what the scan-mode screen shows and serves it (Handler).
// Verdict and Hint are safe to call from the scan lane: they never block on
// a page.
type Screen struct {
	o   Options
	log *slog.Logger

	mu           sync.Mutex
	view         View
	changed      chan struct{} // closed and replaced on every change
	verdictUntil time.Time
	hint         Hint // the latest fed, shown while idle
	cameraDown   bool // the camera's fault hides a hint it can no longer update

	clients atomic.Int32
	stopped chan struct{} // closed when Run returns: streams end
	stop    sync.Once
}

// New returns a Screen showing "hold your code here".
func New(o Options) *Screen {
	if o.Hold <= 0 {
		o.Hold = 4 * time.Second
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 4
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Screen{o: o, log: log, changed: make(chan struct{}), stopped: make(chan struct{})}
	s.view = View{Seq: 1, Mode: Idle, Title: idleTitle}
	return s
}

const idleTitle = "Hold your code here"

// Verdict shows a verdict for Options.Hold.
func (s *Screen) Verdict(v verify.Verdict) {
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := View{Mode: Reject, Title: "Not accepted", Reason: v.Explain(s.o.Location), Fault: s.view.Fault, At: v.At}
	if v.Accept {
		n.Mode, n.Title, n.Reason = Accept, "Welcome", "please go ahead"
		if v.Direction == "exit" {
			n.Title = "Goodbye"
		}
		if s.o.ShowName {
			n.Name = displayName(v.Name)
		}
	}
	s.verdictUntil = now.Add(s.o.Hold)
	s.publish(n)
}

// Hint shows h while the screen is idle, until the next Hint: the feed
// (the camera lane, debounced) sends only changes, and HintNone when the
// code is read or gone. A verdict on screen wins; the hint comes back after
// it if it still holds. The camera's fault hides it.
func (s *Screen) Hint(h Hint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hint = h
	if s.view.Mode != Idle {
		return
	}
	if w := s.hintWords(); w != s.view.Hint {
		n := s.view
		n.Hint = w
		s.publish(n)
	}
}

// hintWords is the hint an idle screen shows now; s.mu is held.
func (s *Screen) hintWords() string {
	if s.cameraDown {
		return ""
	}
	return s.hint.Words()
}

// Clients is how many event streams (pages) are open now.
func (s *Screen) Clients() int { return int(s.clients.Load()) }

// Current returns the state shown now.
func (s *Screen) Current() View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.view
}

// publish makes n the shown state and wakes the streams; s.mu is held.
func (s *Screen) publish(n View) {
	n.Seq = s.view.Seq + 1
	s.view = n
	close(s.changed)
	s.changed = make(chan struct{})
}

// watch returns the current state and a channel closed at its next change.
func (s *Screen) watch() (View, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.view, s.changed
}

// tickEvery is how often Run expires verdicts and polls health.
const tickEvery = 200 * time.Millisecond

// Run keeps the screen current (a verdict goes after Hold, the fault notice
// follows Options.Health) until ctx ends;
// then the event streams end too.
func (s *Screen) Run(ctx context.Context) error {
	defer s.stop.Do(func() { close(s.stopped) })
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		s.tick()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Screen) tick() {
	var faults Faults
	if s.o.Health != nil {
		faults = s.o.Health()
	}
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cameraDown = faults.Camera
	n := s.view
	if n.Mode != Idle && !now.Before(s.verdictUntil) {
		n = View{Mode: Idle, Title: idleTitle}
	}
	if n.Mode == Idle {
		n.Hint = s.hintWords()
	}
	n.Fault = faults.Notice()
	n.Seq = s.view.Seq
	if n != s.view {
		s.publish(n)
	}
}

// displayName is a record's name fit for the screen: one line, at most 64
// characters (the page inserts it as text, never as HTML).
func displayName(n string) string {
	n = strings.TrimSpace(status.OneLine(n))
	if utf8.RuneCountInString(n) > 64 {
		n = string([]rune(n)[:63]) + "…"
	}
	return n
}
