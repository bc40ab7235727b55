// Package status is what an operator sees of a running kiosk: one Snapshot
// of its state, rendered as a local web page (with a live camera preview for
// aiming), as JSON, and as the text of `kioskd status`.
//
// The model is a value, not a live object: the daemon implements Provider by
// copying its current state into a Snapshot, and every view renders only that
// copy. So the page, /status.json, /healthz and `kioskd status -json` always
// agree, and a slow browser never holds a lock in the pipeline.
//
// What a Snapshot never holds: a scanned code, a secret, or anything that
// would let someone at the door replay a code. A verdict is shown by reason,
// the holder's name (from the cache) and the first 8 hex digits of the code's
// sha256, enough to match a complaint with the event log, useless to forge.
//
// The HTTP side (Handler) is meant for the loopback listener. When it is
// exposed on a network, HandlerOptions.Token guards every request; the camera
// preview in particular shows whatever is held up to the camera, codes
// included. CheckHost guards the whole listener against DNS rebinding (a
// foreign name in the Host header is refused with 421), and
// RequireTokenOffLoopback guards what the kiosk's own screen must reach
// without a token (the display page) from everyone else.
package status

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/kioskd/kioskd/verify"
)

// Snapshot is the whole state of one kiosk at one moment.
type Snapshot struct {
	Kiosk   string    `json:"kiosk"`
	Version string    `json:"version"`
	Now     time.Time `json:"now"`
	// Healthy is false when the kiosk cannot do its job as configured; the
	// reasons are in Problems, one short sentence each.
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems"`
	// Offline is set when the snapshot was read from the state directory by
	// `kioskd status` while no daemon runs (camera and outputs then unknown).
	Offline bool `json:"offline,omitempty"`

	Camera  Camera    `json:"camera"`
	GPIO    GPIO      `json:"gpio"`
	Cache   Cache     `json:"cache"`
	Clock   Clock     `json:"clock"`
	Sync    Sync      `json:"sync"`
	Events  Events    `json:"events"`
	Recent  []Verdict `json:"recent"` // newest first
	Peers   []Peer    `json:"peers,omitempty"`
	Fleet   *Fleet    `json:"fleet,omitempty"` // nil: no broker configured
	Display Display   `json:"display"`
	// Access is nil when the venue gates on no badge (access.go).
	Access *Access `json:"access,omitempty"`
	// Visits is nil without a loyalty visit counter (visits.go).
	Visits *Visits `json:"visits,omitempty"`
	// Inputs are the scanners and the camera codes are read at (inputs.go).
	Inputs []Input `json:"inputs,omitempty"`
	// Outputs are the hand-off receivers and their queues (outputs.go).
	Outputs []Output `json:"outputs,omitempty"`
}

// Camera is the capture side.
type Camera struct {
	Up     bool   `json:"up"`
	Source string `json:"source,omitempty"` // e.g. /dev/video0
	Detail string `json:"detail,omitempty"` // e.g. "640x480 YUYV" or the last error
	// FPS is the frame rate over the last few seconds.
	FPS float64 `json:"fps"`
	// DecodeP50 is the median time to decode one frame, recently.
	DecodeP50 Duration `json:"decode_p50"`
	// FramesDropped counts frames dropped unseen since start because the
	// lane was still decoding an older one (it decodes the newest next).
	FramesDropped uint64 `json:"frames_dropped"`
	// VerdictLatencyP50 and P95 run from a frame's capture to the verdict on
	// the outputs, over the recent verdicts; zero before the first.
	VerdictLatencyP50 Duration `json:"verdict_latency_p50"`
	VerdictLatencyP95 Duration `json:"verdict_latency_p95"`
}

// GPIO is the output side (LEDs, buzzer, relay).
type GPIO struct {
	Driver string `json:"driver"` // cdev, sim or none
	Detail string `json:"detail,omitempty"`
}

// Cache is the local copy of the codes.
type Cache struct {
	Count    int       `json:"count"`
	LastSync time.Time `json:"last_sync"` // zero: never synced
	// Age is Now - LastSync (filled in by Complete when zero).
	Age Duration `json:"age"`
	// Stale is set when Age passed the policy's max_cache_age.
	Stale  bool   `json:"stale"`
	Source string `json:"source,omitempty"` // where the last snapshot came from, e.g. the API URL or an import file
}

// Clock says whether time rules can be decided.
type Clock struct {
	Trusted bool `json:"trusted"`
	// TrustedTime is the last time known to be right (from a sync's server
	// time or NTP); after a reboot without network the wall clock may not be.
	TrustedTime time.Time `json:"trusted_time"`
}

// Sync is the pre-fetch from the BitBadges API.
type Sync struct {
	LastError   string    `json:"last_error,omitempty"` // empty when the last attempt succeeded
	LastAttempt time.Time `json:"last_attempt"`
	// NextSync is never the zero time: left out when no daemon schedules one.
	NextSync     time.Time `json:"next_sync,omitzero"`
	LastDuration Duration  `json:"last_duration"`
	// Syncing is set while a pre-fetch runs: since SyncingSince, at Page.
	Syncing      bool      `json:"syncing"`
	SyncingSince time.Time `json:"syncing_since,omitzero"`
	Page         int       `json:"page,omitempty"`
	// HeldBack is a complete snapshot not applied because it would have
	// emptied or shrunk the cache too far; the old cache serves.
	HeldBack *HeldBack `json:"held_back,omitempty"`
	// Duplicates is how many records the last committed pre-fetch received
	// more than once (a server repeating pages).
	Duplicates int `json:"duplicates,omitempty"`
}

// HeldBack is a snapshot waiting for the operator's word.
type HeldBack struct {
	Codes  int       `json:"codes"`  // codes the server listed
	Cached int       `json:"cached"` // codes in the serving cache
	At     time.Time `json:"at"`
}

// Problem is the held-back snapshot as one of Snapshot.Problems.
func (h HeldBack) Problem() string {
	return fmt.Sprintf("sync: snapshot of %d codes held back (the cache holds %d); "+
		"if the codes were really removed, apply it with kioskd sync -apply-held-back", h.Codes, h.Cached)
}

// Events is the local outbox of verdict events and its upload (the upload
// fields are the running daemon's, empty offline or without events.url).
type Events struct {
	Pending int    `json:"pending"`
	Dropped uint64 `json:"dropped"` // dropped because the outbox was full
	// Sent is how many the receiver took since the daemon started.
	Sent uint64 `json:"sent,omitempty"`
	// UploadError is the last upload's error ("" when it succeeded);
	// Failures counts the failed attempts in a row.
	UploadError string `json:"upload_error,omitempty"`
	Failures    int    `json:"upload_failures,omitempty"`
	// Stuck is how many events the receiver refused at the last attempt
	// (kept, the outbox waits behind them); StuckID the oldest one's id for
	// `kioskd events drop -id`.
	Stuck       int       `json:"stuck,omitempty"`
	StuckID     uint64    `json:"stuck_id,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// Verdict is one decision as an operator may see it: no code, no secret.
type Verdict struct {
	Time       time.Time `json:"time"`
	Accept     bool      `json:"accept"`
	Reason     string    `json:"reason"`
	HashPrefix string    `json:"hash_prefix,omitempty"` // first 8 hex digits of sha256(code)
	Name       string    `json:"name,omitempty"`
	Warning    string    `json:"warning,omitempty"`
	// Requirement is the badge requirement that failed (or the ones met).
	Requirement string `json:"requirement,omitempty"`
	// Visit is the holder's visit number in VisitPeriod (policy.visits);
	// VisitCounted is false for a scan within the cooldown (the same visit).
	Visit        int    `json:"visit,omitempty"`
	VisitPeriod  string `json:"visit_period,omitempty"`
	VisitCounted bool   `json:"visit_counted,omitempty"`
	// Input names where the code was read.
	Input string `json:"input,omitempty"`
}

// Peer is another kiosk of the same fleet.
type Peer struct {
	Kiosk    string    `json:"kiosk"`
	LastSeen time.Time `json:"last_seen"`
	Online   bool      `json:"online"`
}

// Fleet is the link to the other kiosks of the venue (MQTT). The counters
// let an operator (and a test) tell "connected" from "caught up": after a
// partition, Applied grows as the peers' redemptions arrive.
type Fleet struct {
	Broker    string `json:"broker"` // without credentials
	Connected bool   `json:"connected"`
	// Pending local redemptions not yet acknowledged by the broker.
	Pending int `json:"pending"`
	// Published local redemptions; Applied peer redemptions (repeats not
	// counted); Ignored malformed or foreign messages.
	Published uint64 `json:"published"`
	Applied   uint64 `json:"applied"`
	Ignored   uint64 `json:"ignored"`
}

// Display is the optional screen beside the camera.
type Display struct {
	Enabled bool   `json:"enabled"`
	State   string `json:"state,omitempty"`
}

// Provider gives the current state; the daemon implements it.
// Snapshot must be cheap and safe to call from any goroutine.
type Provider interface {
	Snapshot() Snapshot
}

// ProviderFunc adapts a function to Provider.
type ProviderFunc func() Snapshot

// Snapshot calls f.
func (f ProviderFunc) Snapshot() Snapshot { return f() }

// Complete fills the derived fields a provider may leave out: Now (the
// current time), Cache.Age (from Now and LastSync), and a nil Problems or
// Recent become empty lists so JSON consumers see [] rather than null.
func (s Snapshot) Complete() Snapshot {
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
	if s.Cache.Age == 0 && !s.Cache.LastSync.IsZero() {
		if age := s.Now.Sub(s.Cache.LastSync); age > 0 {
			s.Cache.Age = Duration(age)
		}
	}
	if s.Problems == nil {
		s.Problems = []string{}
	}
	if s.Recent == nil {
		s.Recent = []Verdict{}
	}
	return s
}

// HashPrefixLen is how many hex digits of a code's sha256 are shown.
const HashPrefixLen = 8

// FromVerdict turns a verifier's decision into what status shows.
func FromVerdict(v verify.Verdict) Verdict {
	prefix := v.Hash
	if len(prefix) > HashPrefixLen {
		prefix = prefix[:HashPrefixLen]
	}
	return Verdict{
		Time:        v.At,
		Accept:      v.Accept,
		Reason:      v.Reason.String(),
		HashPrefix:  prefix,
		Name:        v.Name,
		Warning:     v.Warning,
		Requirement: v.Requirement,
		Visit:       v.Visit, VisitPeriod: v.VisitPeriod, VisitCounted: v.VisitCounted,
		Input: v.Input,
	}
}

// History keeps the last few verdicts for the status page. It is safe for
// concurrent use: the pipeline adds, the status handler lists.
type History struct {
	mu   sync.Mutex
	ring []Verdict
	next int // index of the slot to write next
	full bool
}

// NewHistory keeps the last n verdicts (n < 1 is taken as 1).
func NewHistory(n int) *History {
	if n < 1 {
		n = 1
	}
	return &History{ring: make([]Verdict, n)}
}

// Add records a decision.
func (h *History) Add(v verify.Verdict) {
	sv := FromVerdict(v)
	h.mu.Lock()
	h.ring[h.next] = sv
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
	h.mu.Unlock()
}

// List returns the kept verdicts, newest first, in a new slice.
func (h *History) List() []Verdict {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.next
	if h.full {
		n = len(h.ring)
	}
	out := make([]Verdict, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, h.ring[(h.next-i+len(h.ring))%len(h.ring)])
	}
	return out
}

// Duration is a time.Duration that reads and writes JSON as text ("1.5s"),
// which both people and the page's script can show as is.
type Duration time.Duration

// String formats like time.Duration, rounded to what a person can read.
func (d Duration) String() string {
	td := time.Duration(d)
	switch {
	case td >= time.Minute:
		return td.Round(time.Second).String()
	case td >= time.Second:
		return td.Round(10 * time.Millisecond).String()
	case td >= time.Millisecond:
		return td.Round(10 * time.Microsecond).String()
	}
	return td.String()
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string ("90s") or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want a string like \"1.5s\" or nanoseconds, got %s", b)
		}
		*d = Duration(n)
		return nil
	}
	td, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(td)
	return nil
}
