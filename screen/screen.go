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
// plain names, so a decoder's own hint type maps onto them by name.
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
		return "bring your code closer"
	case HintTooClose:
		return "hold your code a little further away"
	case HintTooDark:
		return "turn up your screen's brightness"
	case HintTooBright:
		return "tilt your screen: there is glare"
	case HintBlurry:
		return "hold your code still"
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
	hintUntil    time.Time

	clients atomic.Int32
	stopped chan struct{} // closed when Run returns: streams end
	stop    sync.Once
}

// hintLife is how long a hint stays without a new one: long enough not to
// flicker between frames, short enough to go once the code is read or gone.
const hintLife = 1500 * time.Millisecond

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
	s.verdictUntil, s.hintUntil = now.Add(s.o.Hold), time.Time{}
	s.publish(n)
}

// Hint shows a hint while the screen is idle; a verdict on screen wins.
// HintNone clears it.
func (s *Screen) Hint(h Hint) {
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.view.Mode != Idle {
		return
	}
	w := h.Words()
	if h != HintNone {
		s.hintUntil = now.Add(hintLife)
	}
	if w == s.view.Hint {
		return
	}
	n := s.view
	n.Hint = w
	s.publish(n)
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

// tickEvery is how often Run expires verdicts and hints and polls health.
const tickEvery = 200 * time.Millisecond

// Run keeps the screen current (a verdict goes after Hold, a hint after it
// stops coming, the fault notice follows Options.Health) until ctx ends;
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
	var fault string
	if s.o.Health != nil {
		fault = s.o.Health().Notice()
	}
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.view
	if n.Mode != Idle && !now.Before(s.verdictUntil) {
		n = View{Mode: Idle, Title: idleTitle}
	}
	if n.Hint != "" && !now.Before(s.hintUntil) {
		n.Hint = ""
	}
	n.Fault = fault
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
