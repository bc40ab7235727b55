package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The loyalty visit counter (policy.visits). With reuse unlimited every
// accepted scan identifies its holder (the record's bitbadgesAddress); a
// scan at least the cooldown after the holder's last counted visit is a new
// visit, numbered within the period it falls in.
//
// A holder's count in a period is a pure function of a set: the visit
// events (each with the id of the redemption that made it, its time and
// kiosk) that any kiosk of the fleet counted. Kiosks exchange their events
// (package fleet) and merge by set union, keyed by id, so a message
// delivered twice, or a backlog replayed after a partition, is counted once
// and the merge is commutative, associative and idempotent. The count walks
// the set in time order and keeps an event only when it is at least the
// cooldown after the last kept one: two kiosks that each counted the same
// customer during a partition, within the cooldown of each other, count
// one visit once they have merged, as one kiosk would have.
//
//	visits        holder 0x00 period key → the visit events, in (time, id)
//	              order, at most VisitsKept (encodeVisits)
//	visit-totals  period key → visits (8 bytes) and holders (8 bytes) of
//	              the period, kept up to date by every write, for status
//
// A holder's lists of earlier periods are deleted when a visit of a later
// one is recorded, so the store keeps about one list per regular customer.
var (
	bucketVisits      = []byte("visits")
	bucketVisitTotals = []byte("visit-totals")
)

// VisitsKept bounds the visit events kept per holder and period. A month
// with a cooldown of an hour holds at most 744 visits; a holder past the
// bound is still accepted, but further visits in the period are not
// counted (Visits.Full says so).
const VisitsKept = 1000

// VisitRule is how visits are counted (config policy.visits).
type VisitRule struct {
	// Period is "day", "week" (ISO, from Monday), "month" or "none"
	// (lifetime); empty = no counting.
	Period   string
	Loc      *time.Location // where periods begin and end; nil = UTC
	Cooldown time.Duration
}

// Enabled reports whether visits are counted.
func (r VisitRule) Enabled() bool { return r.Period != "" }

// PeriodKey names the period t falls in, in r.Loc: "2026-12-03" (day),
// "2026-W49" (ISO week), "2026-12" (month) or "all" (none). Keys of one
// kind sort in time order.
func (r VisitRule) PeriodKey(t time.Time) string {
	loc := r.Loc
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	switch r.Period {
	case "day":
		return t.Format("2006-01-02")
	case "week":
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case "month":
		return t.Format("2006-01")
	default:
		return "all"
	}
}

// kindKey is the period key with the period's kind in front, so that a
// change of policy.visits.period starts afresh rather than mixing kinds.
func (r VisitRule) kindKey(t time.Time) string {
	k := "n"
	if r.Period != "" && r.Period != "none" {
		k = r.Period[:1]
	}
	return k + r.PeriodKey(t)
}

// VisitEvent is one counted visit: ID is the nonce of the redemption that
// counted it (a peer's redemption nonce for a peer's visit).
type VisitEvent struct {
	ID     string
	Holder string
	Kiosk  string
	At     time.Time
}

// Visits is a holder's visit count in one period.
type Visits struct {
	Holder string
	// Period is the period's key (VisitRule.PeriodKey).
	Period string
	// Count is how many visits the holder made in the period, every
	// kiosk's that this one has heard of merged.
	Count int
	// Number is the visit a scan belongs to: for a counted scan, its
	// number; for one within the cooldown, the visit it is part of (0: no
	// visit known).
	Number int
	// Counted: this scan is a new visit.
	Counted bool
	// Full: the period holds VisitsKept visits; no more are counted.
	Full bool
	// Last is the latest counted visit (zero: none).
	Last time.Time
}

// VisitTotals are the visits of one period across all holders.
type VisitTotals struct {
	Period  string
	Visits  uint64
	Holders uint64
}

// visitRec is a stored visit event; the holder is in the key.
type visitRec struct {
	ID    string
	Kiosk string
	At    int64 // Unix nanoseconds
}

// visitsV1 starts an encoded list: then, per event, the time (8 bytes,
// big-endian Unix ns), the id and the kiosk, each one length byte and its
// bytes. Binary rather than JSON: a regular's list is rewritten at every
// visit, and at the bound JSON cost milliseconds per scan.
const visitsV1 = 1

func encodeVisits(evs []visitRec) ([]byte, error) {
	n := 1
	for _, e := range evs {
		if len(e.ID) > 255 || len(e.Kiosk) > 255 {
			return nil, errors.New("visit id or kiosk longer than 255 bytes")
		}
		n += 10 + len(e.ID) + len(e.Kiosk)
	}
	b := make([]byte, 0, n)
	b = append(b, visitsV1)
	for _, e := range evs {
		b = binary.BigEndian.AppendUint64(b, uint64(e.At))
		b = append(b, byte(len(e.ID)))
		b = append(b, e.ID...)
		b = append(b, byte(len(e.Kiosk)))
		b = append(b, e.Kiosk...)
	}
	return b, nil
}

func decodeVisits(v []byte) ([]visitRec, error) {
	if len(v) == 0 || v[0] != visitsV1 {
		return nil, errCorrupt
	}
	v = v[1:]
	var evs []visitRec
	str := func() (string, bool) {
		if len(v) < 1 || len(v) < 1+int(v[0]) {
			return "", false
		}
		s := string(v[1 : 1+int(v[0])])
		v = v[1+int(v[0]):]
		return s, true
	}
	for len(v) > 0 {
		if len(v) < 8 || len(evs) >= VisitsKept {
			return nil, errCorrupt
		}
		e := visitRec{At: int64(binary.BigEndian.Uint64(v))}
		v = v[8:]
		var ok1, ok2 bool
		e.ID, ok1 = str()
		e.Kiosk, ok2 = str()
		if !ok1 || !ok2 || e.ID == "" || (len(evs) > 0 && visitLess(evs[len(evs)-1], e) >= 0) {
			return nil, errCorrupt // also out of order or repeated: not what encodeVisits wrote
		}
		evs = append(evs, e)
	}
	return evs, nil
}

func visitLess(a, b visitRec) int {
	if a.At != b.At {
		if a.At < b.At {
			return -1
		}
		return 1
	}
	return bytes.Compare([]byte(a.ID), []byte(b.ID))
}

// countVisits walks events in (time, id) order and keeps each one at least
// cooldown after the last kept; it returns the kept count and, for each
// event, the number of kept events up to it (its visit number).
func countVisits(evs []visitRec, cooldown time.Duration) (int, []int) {
	nums := make([]int, len(evs))
	n := 0
	var last int64
	for i, e := range evs {
		if n == 0 || e.At-last >= int64(cooldown) {
			n++
			last = e.At
		}
		nums[i] = n
	}
	return n, nums
}

func visitKey(holder, kindKey string) []byte {
	k := make([]byte, 0, len(holder)+1+len(kindKey))
	k = append(k, holder...)
	k = append(k, 0)
	return append(k, kindKey...)
}

func validHolder(h string) bool {
	return h != "" && len(h) <= 128 && !bytes.ContainsRune([]byte(h), 0)
}

func loadVisits(b *bolt.Bucket, key []byte) []visitRec {
	if b == nil {
		return nil
	}
	v := b.Get(key)
	if v == nil {
		return nil
	}
	evs, err := decodeVisits(v)
	if err != nil {
		// A corrupt list only loses that holder's count for the period.
		return nil
	}
	return evs
}

// visitTx is one holder's list in one period, loaded in a write transaction.
type visitTx struct {
	tx     *bolt.Tx
	b      *bolt.Bucket
	key    []byte
	period string // PeriodKey, for the totals
	evs    []visitRec
	before int // count before this transaction's changes
}

func openVisitTx(tx *bolt.Tx, rule VisitRule, holder string, at time.Time) (*visitTx, error) {
	b, err := tx.CreateBucketIfNotExists(bucketVisits)
	if err != nil {
		return nil, err
	}
	kk := rule.kindKey(at)
	vt := &visitTx{tx: tx, b: b, key: visitKey(holder, kk), period: kk}
	vt.evs = loadVisits(b, vt.key)
	vt.before, _ = countVisits(vt.evs, rule.Cooldown)
	return vt, nil
}

// add inserts e in order; false when its id is known or the list is full.
func (vt *visitTx) add(e visitRec) (added, full bool) {
	for _, x := range vt.evs {
		if x.ID == e.ID {
			return false, false
		}
	}
	if len(vt.evs) >= VisitsKept {
		return false, true
	}
	i, _ := slices.BinarySearchFunc(vt.evs, e, visitLess)
	vt.evs = slices.Insert(vt.evs, i, e)
	return true, false
}

// save writes the list, moves the period's totals by the change of count,
// and deletes the holder's lists of earlier periods.
func (vt *visitTx) save(rule VisitRule) error {
	v, err := encodeVisits(vt.evs)
	if err != nil {
		return fmt.Errorf("encoding visits: %w", err)
	}
	if err := vt.b.Put(vt.key, v); err != nil {
		return err
	}
	after, _ := countVisits(vt.evs, rule.Cooldown)
	if err := moveTotals(vt.tx, vt.period, vt.before, after); err != nil {
		return err
	}
	vt.before = after
	return pruneHolder(vt.b, vt.key)
}

func moveTotals(tx *bolt.Tx, period string, before, after int) error {
	if before == after {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketVisitTotals)
	if err != nil {
		return err
	}
	var visits, holders uint64
	if v := b.Get([]byte(period)); len(v) == 16 {
		visits, holders = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
	}
	visits = uint64(max(int64(visits)+int64(after-before), 0))
	switch {
	case before == 0 && after > 0:
		holders++
	case before > 0 && after == 0 && holders > 0:
		holders--
	}
	var out [16]byte
	binary.BigEndian.PutUint64(out[:], visits)
	binary.BigEndian.PutUint64(out[8:], holders)
	return b.Put([]byte(period), out[:])
}

// pruneHolder deletes the holder's lists other than key's, of another kind
// of period or of an earlier period of the same kind.
func pruneHolder(b *bolt.Bucket, key []byte) error {
	sep := bytes.IndexByte(key, 0)
	prefix, kk := key[:sep+1], key[sep+1:]
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		o := k[len(prefix):]
		if bytes.Equal(o, kk) {
			continue
		}
		if len(o) == 0 || o[0] != kk[0] || bytes.Compare(o, kk) < 0 {
			old = append(old, bytes.Clone(k))
		}
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// result describes the list for the scan at (at, id) (id "" = a scan not
// stored).
func (vt *visitTx) result(rule VisitRule, holder string, at time.Time, id string) Visits {
	return visitsOf(vt.evs, rule, holder, vt.period[1:], at, id)
}

func visitsOf(evs []visitRec, rule VisitRule, holder, period string, at time.Time, id string) Visits {
	n, nums := countVisits(evs, rule.Cooldown)
	out := Visits{Holder: holder, Period: period, Count: n, Full: len(evs) >= VisitsKept}
	ns := timeNs(at)
	var last int64
	for i, e := range evs {
		if i == 0 || nums[i] != nums[i-1] {
			last = e.At
		}
		if e.ID == id || (id == "" && e.At <= ns) {
			out.Number = nums[i]
		}
	}
	if n > 0 {
		out.Last = nsTime(last)
		// A scan before the first visit but within its cooldown is part of it.
		out.Number = max(out.Number, 1)
	}
	return out
}

// RecordVisit is Redeem for a scan of a holder under the visit counter: in
// one fsync'd transaction it records the redemption and its event, and
// counts the scan as a visit when it is at least rule.Cooldown after the
// holder's last counted visit (with the peers' merged in). A counted visit
// is queued for the fleet with the redemption (r.Holder set), so the other
// kiosks count it too. The event's detail gets the visit number and
// period. Idempotent by nonce, like Redeem: a repeated nonce changes nothing.
func (s *Store) RecordVisit(ctx context.Context, r Redemption, ev Event, holder string, rule VisitRule) (Visits, error) {
	if err := ctx.Err(); err != nil {
		return Visits{}, fmt.Errorf("recording visit: %w", err)
	}
	if !rule.Enabled() || !validHolder(holder) {
		return Visits{}, errors.New("recording visit: no visit rule or no holder")
	}
	var key [32]byte
	if err := decodeHash(&key, r.Hash); err != nil {
		return Visits{}, fmt.Errorf("recording visit: %w", err)
	}
	if r.Nonce == "" {
		r.Nonce = ev.Nonce
	}
	if r.Nonce == "" {
		r.Nonce = NewNonce()
	}
	if ev.Nonce == "" {
		ev.Nonce = r.Nonce
	}
	var res Visits
	err := s.coalesced(func(tx *bolt.Tx) error {
		r, ev := r, ev // Batch may run this twice
		if tx.Bucket(bucketRedeemed).Get([]byte(r.Nonce)) != nil {
			return nil // a repeat: as Redeem, nothing more
		}
		vt, err := openVisitTx(tx, rule, holder, r.At)
		if err != nil {
			return err
		}
		added, full := vt.add(visitRec{ID: r.Nonce, Kiosk: r.Kiosk, At: timeNs(r.At)})
		counted := false
		if added {
			if n, _ := countVisits(vt.evs, rule.Cooldown); n > vt.before {
				counted = true
			} else {
				// Within the cooldown: not a visit, not kept.
				i := slices.IndexFunc(vt.evs, func(x visitRec) bool { return x.ID == r.Nonce })
				vt.evs = slices.Delete(vt.evs, i, i+1)
			}
		}
		id := ""
		if counted {
			if err := vt.save(rule); err != nil {
				return err
			}
			id = r.Nonce
			r.Holder = holder // the fleet shares the visit with the redemption
		}
		res = vt.result(rule, holder, r.At, id)
		res.Counted, res.Full = counted, full
		ev.Detail = joinDetail(ev.Detail, visitDetail(res))
		evVal, err := encodeEvent(ev)
		if err != nil {
			return err
		}
		if err := s.fleetQueueTx(tx, key[:], r); err != nil {
			return err
		}
		if err := redeemTx(tx, key[:], r); err != nil {
			return err
		}
		return s.appendEventTx(tx, ev.Nonce, evVal)
	})
	if err != nil {
		return Visits{}, fmt.Errorf("recording visit: %w", err)
	}
	return res, nil
}

// visitDetail is the visit in an event's detail: the number and period,
// never the holder (events name codes by hash only).
func visitDetail(v Visits) string {
	switch {
	case v.Counted:
		return "visit " + strconv.Itoa(v.Number) + " of " + v.Period
	case v.Full:
		return "visit not counted: " + strconv.Itoa(VisitsKept) + " visits in " + v.Period
	default:
		return "same visit " + strconv.Itoa(v.Number) + " of " + v.Period + " (within the cooldown)"
	}
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// HolderVisits reads a holder's visits in the period at falls in, and
// whether a scan at at would be a new visit (Counted), without writing.
func (s *Store) HolderVisits(holder string, rule VisitRule, at time.Time) (Visits, error) {
	var res Visits
	err := s.db.View(func(tx *bolt.Tx) error {
		kk := rule.kindKey(at)
		evs := loadVisits(tx.Bucket(bucketVisits), visitKey(holder, kk))
		res = visitsOf(evs, rule, holder, kk[1:], at, "")
		probe := append(slices.Clone(evs), visitRec{ID: "\xff", At: timeNs(at)})
		slices.SortFunc(probe, visitLess)
		n, _ := countVisits(probe, rule.Cooldown)
		res.Counted = n > res.Count && !res.Full
		if res.Counted {
			res.Number = visitsOf(probe, rule, holder, kk[1:], at, "\xff").Number
		}
		return nil
	})
	if err != nil {
		return Visits{}, fmt.Errorf("reading visits: %w", err)
	}
	return res, nil
}

// ApplyPeerVisits merges visits other kiosks counted, in one fsync'd
// transaction: each is added to its holder's set by id (a repeat changes
// nothing) and the counts follow from the merged sets. It returns, in
// order, whether each was new here. A visit of a full period is dropped.
// One invalid visit fails the whole call before anything is written.
func (s *Store) ApplyPeerVisits(ctx context.Context, vs []VisitEvent, rule VisitRule) ([]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("applying peer visits: %w", err)
	}
	if !rule.Enabled() {
		return nil, errors.New("applying peer visits: no visit rule")
	}
	for _, v := range vs {
		if !validHolder(v.Holder) || v.ID == "" || v.At.IsZero() {
			return nil, errors.New("applying peer visits: a visit without holder, id or time")
		}
	}
	added := make([]bool, len(vs))
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, v := range vs {
			vt, err := openVisitTx(tx, rule, v.Holder, v.At)
			if err != nil {
				return err
			}
			if added[i], _ = vt.add(visitRec{ID: v.ID, Kiosk: v.Kiosk, At: timeNs(v.At)}); !added[i] {
				continue
			}
			if err := vt.save(rule); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("applying peer visits: %w", err)
	}
	return added, nil
}

// VisitTotals returns the visits and holders of the period at falls in.
func (s *Store) VisitTotals(rule VisitRule, at time.Time) (VisitTotals, error) {
	kk := rule.kindKey(at)
	out := VisitTotals{Period: kk[1:]}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVisitTotals)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(kk)); len(v) == 16 {
			out.Visits, out.Holders = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
		}
		return nil
	})
	if err != nil {
		return VisitTotals{}, fmt.Errorf("reading visit totals: %w", err)
	}
	return out, nil
}

// visitIDs is for tests: the ids in a holder's set, in order.
func (s *Store) visitIDs(holder string, rule VisitRule, at time.Time) []string {
	var ids []string
	_ = s.db.View(func(tx *bolt.Tx) error {
		for _, e := range loadVisits(tx.Bucket(bucketVisits), visitKey(holder, rule.kindKey(at))) {
			ids = append(ids, e.ID)
		}
		return nil
	})
	return ids
}
