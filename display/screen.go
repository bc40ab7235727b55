package display

import (
	"sync"
	"time"
)

// State is what the screen shows.
type State uint8

const (
	Starting    State = iota // before the first challenge
	Scan                     // the QR code: "Scan with your phone"
	CheckPhone               // a phone claimed the challenge: QR hidden
	Welcome                  // approved and validated
	Declined                 // declined on the phone, or the approval was refused
	Unavailable              // the API cannot be reached: use the scan mode
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Scan:
		return "scan"
	case CheckPhone:
		return "check-phone"
	case Welcome:
		return "welcome"
	case Declined:
		return "declined"
	case Unavailable:
		return "unavailable"
	}
	return "invalid"
}

// Title and Detail are the screen's two lines of text.
func (s State) Title() string {
	switch s {
	case Scan:
		return "Scan with your phone"
	case CheckPhone:
		return "Check your phone"
	case Welcome:
		return "Welcome"
	case Declined:
		return "Declined"
	case Unavailable:
		return "Display sign-in unavailable"
	}
	return "One moment…"
}

// Detail is the smaller line under the title.
func (s State) Detail() string {
	switch s {
	case Scan:
		return "Open your app and scan this code to sign in"
	case CheckPhone:
		return "Approve the sign-in on your phone"
	case Welcome:
		return "You are signed in"
	case Declined:
		return "The sign-in was not approved"
	case Unavailable:
		return "Scan your BitBadges code instead"
	}
	return "Starting the display sign-in"
}

// Screen is what the page shows now.
type Screen struct {
	State State
	// Seq increases with every change, so a page can tell a new screen from
	// one it already shows (a new challenge is a new Scan screen).
	Seq uint64
	// Since is when this screen was set.
	Since time.Time
	// svg is the rendered QR (Scan only), rendered once per challenge.
	svg string
}

// board holds the current Screen and wakes whoever waits for a change.
type board struct {
	mu      sync.Mutex
	cur     Screen
	changed chan struct{} // closed and replaced on every change
	// onSet, when not nil, sees every change in order (tests record the
	// sequence with it). Called with mu held.
	onSet func(Screen)
}

func newBoard() *board {
	return &board{cur: Screen{State: Starting, Since: time.Now()}, changed: make(chan struct{})}
}

func (b *board) set(s State, svg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur = Screen{State: s, Seq: b.cur.Seq + 1, Since: time.Now(), svg: svg}
	close(b.changed)
	b.changed = make(chan struct{})
	if b.onSet != nil {
		b.onSet(b.cur)
	}
}

// get returns the current screen and a channel closed at the next change.
func (b *board) get() (Screen, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur, b.changed
}
