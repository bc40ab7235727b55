package verify

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/kioskd/kioskd/store"
)

// The loyalty visit counter (policy.visits, with reuse unlimited): every
// accepted entry or undirected scan identifies its holder, by the record's
// bitbadgesAddress (not the code: a holder may have several), and counts a
// visit unless it comes within the cooldown of the holder's last counted
// visit. A scan within the cooldown is still accepted, as a loyalty kiosk
// would: the customer is identified for the till all the same, and the
// verdict says it is the same visit (VisitCounted false) rather than
// refusing someone who did nothing wrong. Exits and rejects count nothing.
//
// The cooldown is a time rule: with an untrusted clock and
// untrusted_clock last-known the visit is decided (and stamped) at the last
// trusted time, so later scans stay within the cooldown until the clock is
// trusted again; with reject the scan is accepted but counts no visit.

// VisitStore is what the visit counter needs of the store beside Store
// (*store.Store has it).
type VisitStore interface {
	RecordVisit(ctx context.Context, r store.Redemption, ev store.Event, holder string, rule store.VisitRule) (store.Visits, error)
	HolderVisits(holder string, rule store.VisitRule, at time.Time) (store.Visits, error)
	VisitTotals(rule store.VisitRule, at time.Time) (store.VisitTotals, error)
}

var _ VisitStore = (*store.Store)(nil)

// initVisits turns the counter on when the policy asks for it and the
// store can count; a store that cannot (a test stand-in) leaves it off.
func (v *Verifier) initVisits() {
	vst, ok := v.st.(VisitStore)
	if !v.o.Policy.Visits.Enabled() || !ok {
		if v.o.Policy.Visits.Enabled() {
			v.log.Error("policy.visits is set but the store cannot count visits: no visits counted")
		}
		return
	}
	v.visits, v.vst = v.o.Policy.Visits, vst
}

// recordChecked records a checked verdict: as a visit under the counter,
// otherwise as record does.
func (v *Verifier) recordChecked(ctx context.Context, c CheckOpts, vd Verdict, detail string, clockTrusted bool) Verdict {
	if !v.visits.Enabled() || !vd.Accept || vd.Holder == "" || c.Direction == store.DirExit {
		return v.record(ctx, c, vd, detail)
	}
	if !clockTrusted && v.o.Policy.UntrustedClock == "reject" {
		vd.Warning = joinWarn(vd.Warning, "clock untrusted: visit not counted")
		detail = joinWarn(detail, "visit not counted: clock untrusted")
		return v.record(ctx, c, vd, detail)
	}
	if c.DryRun {
		// What this scan would be, without counting it.
		vs, err := v.vst.HolderVisits(vd.Holder, v.visits, vd.At)
		if err != nil {
			v.log.Error("reading visits", "err", err)
		} else {
			setVisit(&vd, vs)
		}
		return v.record(ctx, c, vd, detail)
	}
	ev := store.Event{
		Nonce: store.NewNonce(), Time: vd.At, Kiosk: v.o.Kiosk, Kind: store.KindVerdict,
		Accept: true, Reason: vd.Reason.String(), Hash: vd.Hash, Detail: detail, Input: c.Input,
	}
	vd.Nonce, vd.Input = ev.Nonce, c.Input
	r := store.Redemption{Hash: vd.Hash, At: vd.At, Kiosk: v.o.Kiosk, Direction: c.Direction, Nonce: ev.Nonce}
	vs, err := v.vst.RecordVisit(ctx, r, ev, vd.Holder, v.visits)
	v.wrote(err)
	if err != nil {
		return v.fail(c, vd, "recording redemption", err)
	}
	setVisit(&vd, vs)
	switch {
	case vs.Counted:
		v.vstats.counted.Add(1)
	case vs.Full:
		v.vstats.full.Add(1)
		vd.Warning = joinWarn(vd.Warning, "visit counter full for this period")
	default:
		v.vstats.same.Add(1)
	}
	v.logVerdict(vd, false)
	return vd
}

// VisitStats count this verifier's scans under the visit counter.
type VisitStats struct {
	Counted uint64 // new visits
	Same    uint64 // scans within the cooldown: the same visit
	Full    uint64 // not counted: the holder's period is full
}

type visitStats struct{ counted, same, full atomic.Uint64 }

// VisitStats returns the scans counted since this Verifier was made.
func (v *Verifier) VisitStats() VisitStats {
	return VisitStats{Counted: v.vstats.counted.Load(), Same: v.vstats.same.Load(), Full: v.vstats.full.Load()}
}

func setVisit(vd *Verdict, vs store.Visits) {
	vd.Visit, vd.VisitPeriod, vd.VisitCounted = vs.Number, vs.Period, vs.Counted
}

// HolderVisits reads a holder's visits in the period at falls in (for
// `kioskd check` and the pages); ok is false without a visit counter.
func (v *Verifier) HolderVisits(holder string, at time.Time) (vs store.Visits, ok bool, err error) {
	if !v.visits.Enabled() {
		return store.Visits{}, false, nil
	}
	vs, err = v.vst.HolderVisits(holder, v.visits, at)
	return vs, err == nil, err
}

// VisitTotals are the visits and holders of the current period; ok is
// false without a visit counter.
func (v *Verifier) VisitTotals(at time.Time) (store.VisitTotals, bool, error) {
	if !v.visits.Enabled() {
		return store.VisitTotals{}, false, nil
	}
	t, err := v.vst.VisitTotals(v.visits, at)
	return t, err == nil, err
}

// VisitRule is the verifier's visit counting rule (the fleet applies
// peers' visits under the same one).
func (v *Verifier) VisitRule() store.VisitRule { return v.visits }

// VisitPeriodKind names the kind of a Verdict.VisitPeriod key, for words
// such as "visit 7 this month": "day" (2026-12-03), "week" (2026-W49),
// "month" (2026-12), "none" (all), "" for anything else.
func VisitPeriodKind(period string) string {
	switch {
	case period == "all":
		return "none"
	case len(period) == 10 && period[4] == '-' && period[7] == '-':
		return "day"
	case len(period) == 8 && period[4:6] == "-W":
		return "week"
	case len(period) == 7 && period[4] == '-':
		return "month"
	}
	return ""
}
