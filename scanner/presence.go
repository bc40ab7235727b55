package scanner

import (
	"crypto/sha256"
	"time"
)

// presenceSlots is how many different codes Presence remembers at once.
// A kiosk sees one code at a time; a few slots cover a visitor swapping
// phones back and forth without ever firing twice for either.
const presenceSlots = 8

// Presence turns a stream of decoded codes into one verdict per
// presentation: a code held in view fires once, and fires again only after
// it has been out of view (frames without it) for at least the rearm time.
// Frames in which a code is missed for less than rearm (motion blur, glare)
// do not count as the code leaving, and neither does the time between two
// frames that both show it: a slow camera, or frames dropped while a
// redemption is made durable, must not turn one presentation into several.
//
// Codes are kept only as SHA-256 digests in a fixed table, so memory never
// holds a scanned code longer than the caller does. Presence is not safe for
// concurrent use: it belongs to one pipeline.
type Presence struct {
	rearm time.Duration
	slots [presenceSlots]presenceSlot
}

type presenceSlot struct {
	used     bool
	sum      [sha256.Size]byte
	lastSeen time.Time
}

// NewPresence returns a tracker that re-arms a code after it has been out
// of view for rearm. A rearm of 0 fires on every observation.
func NewPresence(rearm time.Duration) *Presence {
	return &Presence{rearm: rearm}
}

// Observe records that code was decoded in the frame taken at now and
// reports whether this is a new presentation that deserves a verdict.
func (p *Presence) Observe(code string, now time.Time) (fire bool) {
	sum := digest(code)
	p.tick(now, &sum)
	oldest := 0
	for i := range p.slots {
		s := &p.slots[i]
		if s.used && s.sum == sum {
			s.lastSeen = now
			return p.rearm <= 0
		}
		if !s.used || (p.slots[oldest].used && s.lastSeen.Before(p.slots[oldest].lastSeen)) {
			oldest = i
		}
	}
	// A new presentation: take a free slot, or forget the code seen longest ago.
	p.slots[oldest] = presenceSlot{used: true, sum: sum, lastSeen: now}
	return true
}

// Tick forgets the codes that have been out of view for rearm at now. Call it
// for frames without a code; Observe calls it too.
func (p *Presence) Tick(now time.Time) { p.tick(now, nil) }

// tick forgets the codes out of view for rearm, except the one in view.
func (p *Presence) tick(now time.Time, inView *[sha256.Size]byte) {
	for i := range p.slots {
		s := &p.slots[i]
		if s.used && now.Sub(s.lastSeen) >= p.rearm && (inView == nil || s.sum != *inView) {
			*s = presenceSlot{}
		}
	}
}

// digest hashes code without allocating for codes of kiosk size.
func digest(code string) [sha256.Size]byte {
	var buf [2 * CodeLen]byte
	if len(code) <= len(buf) {
		n := copy(buf[:], code)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(code))
}
