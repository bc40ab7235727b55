package verify

import (
	"time"

	"github.com/kioskd/kioskd/store"
)

// context fills in what the verdict's reason refers to (Verdict.UsedAt and
// the rest), from the same read the decision was taken on.
func (v *Verifier) context(vd *Verdict, in store.Inspection) {
	switch vd.Reason {
	case AlreadyUsed:
		if in.Redeemed && !in.State.LastUse.At.IsZero() {
			vd.UsedAt, vd.UsedBy = in.State.LastUse.At, in.State.LastUse.Kiosk
		}
	case OutsideWindow:
		if !v.from.IsZero() && vd.At.Before(v.from) {
			vd.ValidFrom = v.from
		} else {
			vd.ValidUntil = v.until
		}
	case Expired:
		vd.ValidUntil = in.Record.ExpiresAt
	}
}

// Explain says the verdict's reason in plain words, for the person at the
// door or the desk ("already used at 14:02 at door-b", "not valid until
// 19:00", "membership required"). Times are shown in loc (time.Local when
// nil), with the date only when it is not the verdict's own day. The words
// carry nothing secret: no code, no hash, no address; the kiosk and
// requirement names are the venue's own configuration. The stable,
// machine-readable name stays Reason.String().
func (v Verdict) Explain(loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	at := func(t time.Time) string { return readable(t, v.At, loc) }
	switch v.Reason {
	case OK:
		if v.Direction == store.DirExit {
			return "goodbye"
		}
		return "welcome"
	case Unknown:
		return "code not recognised for this venue"
	case AlreadyUsed:
		s := "already used"
		if !v.UsedAt.IsZero() {
			s += " at " + at(v.UsedAt)
		}
		if v.UsedBy != "" {
			s += " at " + v.UsedBy
		}
		return s
	case Expired:
		if !v.ValidUntil.IsZero() {
			return "expired at " + at(v.ValidUntil)
		}
		return "expired"
	case OutsideWindow:
		switch {
		case !v.ValidFrom.IsZero():
			return "not valid until " + at(v.ValidFrom)
		case !v.ValidUntil.IsZero():
			return "no longer valid: entry closed at " + at(v.ValidUntil)
		}
		return "not valid at this time"
	case StaleCache:
		if v.Requirement != "" {
			return "cannot check " + v.Requirement + " right now: please see staff"
		}
		return "cannot check codes right now (the code list is out of date): please see staff"
	case ClockUntrusted:
		return "cannot check codes right now (the clock is not set): please see staff"
	case NotACode:
		return "this QR code is not an entry code"
	case AntiPassback:
		if v.Direction == store.DirExit {
			return "not checked in here: cannot check out"
		}
		return "already inside: check out before entering again"
	case RequirementNotMet:
		if v.Requirement != "" {
			return v.Requirement + " required"
		}
		return "a required badge is missing"
	case Error:
		return "cannot check codes right now: please see staff"
	}
	return "not accepted"
}

// readable is t as a person reads it: "14:02" on the day of ref, "Dec 2 14:02"
// on another day of the same year, with the year otherwise.
func readable(t, ref time.Time, loc *time.Location) string {
	t, ref = t.In(loc), ref.In(loc)
	ty, tm, td := t.Date()
	ry, rm, rd := ref.Date()
	switch {
	case ty == ry && tm == rm && td == rd:
		return t.Format("15:04")
	case ty == ry:
		return t.Format("Jan 2 15:04")
	}
	return t.Format("Jan 2 2006 15:04")
}
