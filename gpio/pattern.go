package gpio

import "time"

// The outputs' levels are a pure function of the state and the time:
// state.levels(now) says what every line should be and when that next
// changes. The owning goroutine writes the difference and sleeps until then.
// Nothing else decides a level, so no timer can be forgotten.

// role is one configured output.
type role uint8

const (
	roleAcceptLED role = iota
	roleRejectLED
	roleBuzzer
	roleRelay
	numRoles
)

// key is the role's config key, also used as its label.
func (r role) key() string {
	return [...]string{"accept_led", "reject_led", "buzzer", "relay"}[r]
}

// step is one segment of a wave.
type step struct {
	d  time.Duration
	on bool
}

// wave is one output's part in a pattern: its steps once, or repeated
// while the pattern lasts when loop is set.
type wave struct {
	steps []step
	loop  bool
}

func (w wave) length() time.Duration {
	var n time.Duration
	for _, s := range w.steps {
		n += s.d
	}
	return n
}

// at returns the level at offset t into the wave and the offset of its next
// change; ok is false when it never changes again (off after a finite wave).
func (w wave) at(t time.Duration) (on bool, next time.Duration, ok bool) {
	n := w.length()
	if n <= 0 {
		return false, 0, false
	}
	base := time.Duration(0)
	if w.loop {
		base = t - t%n
		t %= n
	} else if t >= n {
		return false, 0, false
	}
	end := base
	for _, s := range w.steps {
		end += s.d
		if t < end-base {
			return s.on, end, true
		}
	}
	return false, 0, false // unreachable: t < n
}

// show is a pattern's waves on the LEDs and buzzer, and how long it lasts
// (zero: until the next Show).
type show struct {
	waves [roleRelay]wave // accept LED, reject LED, buzzer; the relay is not a pattern's
	lasts time.Duration
}

// Beeps and blinks. Only the rhythm tells sounds apart: a GPIO buzzer has one
// tone. Accept is one short beep, reject two longer ones, a fault one long
// one, starting a chirp.
const (
	acceptBeep    = 150 * time.Millisecond
	rejectBeep    = 250 * time.Millisecond
	rejectGap     = 150 * time.Millisecond
	faultBeep     = 600 * time.Millisecond
	startChirp    = 60 * time.Millisecond
	startBlink    = 250 * time.Millisecond // green and red alternate
	faultFlash    = 100 * time.Millisecond // Show(Fault): fast red flashes
	standingOn    = 500 * time.Millisecond // SetFault: slow red blink while idle
	standingOff   = 1500 * time.Millisecond
	retryInterval = 100 * time.Millisecond // after a failed line write
)

// standingFault is the slow red blink shown while idle with a fault set.
func standingFault() wave {
	return wave{steps: []step{{standingOn, true}, {standingOff, false}}, loop: true}
}

func showOf(p Pattern, acceptFor, rejectFor time.Duration) show {
	on := func(d time.Duration) wave { return wave{steps: []step{{d, true}}} }
	switch p {
	case Starting:
		return show{waves: [roleRelay]wave{
			roleAcceptLED: {steps: []step{{startBlink, true}, {startBlink, false}}, loop: true},
			roleRejectLED: {steps: []step{{startBlink, false}, {startBlink, true}}, loop: true},
			roleBuzzer:    on(startChirp),
		}}
	case Accept:
		return show{waves: [roleRelay]wave{roleAcceptLED: on(acceptFor), roleBuzzer: on(acceptBeep)}, lasts: acceptFor}
	case Reject:
		return show{waves: [roleRelay]wave{
			roleRejectLED: on(rejectFor),
			roleBuzzer:    {steps: []step{{rejectBeep, true}, {rejectGap, false}, {rejectBeep, true}}},
		}, lasts: rejectFor}
	case Fault:
		return show{waves: [roleRelay]wave{
			roleRejectLED: {steps: []step{{faultFlash, true}, {faultFlash, false}}, loop: true},
			roleBuzzer:    on(faultBeep),
		}, lasts: rejectFor}
	}
	return show{} // Idle
}

// state is everything the levels depend on. Only the owning goroutine
// touches it.
type state struct {
	acceptFor, rejectFor time.Duration
	pulse                time.Duration
	failSafe             bool // fail_mode safe: relay energised while faulted

	pattern    Pattern
	since      time.Time // pattern start
	fault      bool
	faultSince time.Time
	relayUntil time.Time // relay pulse end (zero: none)
}

// showPattern starts p at now. Re-showing a pattern restarts it (a second
// accept keeps the green on for another accept_for) except Starting, whose
// blink keeps its phase.
func (s *state) showPattern(p Pattern, now time.Time) {
	if p == Starting && s.pattern == Starting {
		return
	}
	s.pattern, s.since = p, now
}

// pulseRelay opens the door for a full pulse from now: a pulse in progress is
// extended, never shortened.
func (s *state) pulseRelay(now time.Time) {
	if until := now.Add(s.pulse); until.After(s.relayUntil) {
		s.relayUntil = until
	}
}

func (s *state) setFault(on bool, now time.Time) {
	if on && !s.fault {
		s.faultSince = now
	}
	s.fault = on
}

// levels returns what each role should be at now and when that next changes
// (zero: not until something is shown). A finished pattern becomes Idle.
func (s *state) levels(now time.Time) (lv [numRoles]bool, next time.Time) {
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if s.pattern != Idle {
		sh := showOf(s.pattern, s.acceptFor, s.rejectFor)
		t := now.Sub(s.since)
		end := sh.lasts
		for _, w := range sh.waves {
			if !w.loop && w.length() > end && end > 0 {
				end = w.length() // a beep outlasting the lights is not cut
			}
		}
		if end > 0 && t >= end {
			s.pattern = Idle
		} else {
			for r, w := range sh.waves {
				on, n, ok := w.at(t)
				lv[r] = on
				if ok {
					earliest(s.since.Add(n))
				}
			}
			if end > 0 {
				earliest(s.since.Add(end))
			}
		}
	}
	if s.pattern == Idle && s.fault {
		on, n, _ := standingFault().at(now.Sub(s.faultSince))
		lv[roleRejectLED] = on
		earliest(s.faultSince.Add(n))
	}
	if now.Before(s.relayUntil) {
		lv[roleRelay] = true
		earliest(s.relayUntil)
	}
	if s.fault && s.failSafe {
		lv[roleRelay] = true
	}
	return lv, next
}
