package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// EventKind says what an event records; it is the "kind" of an uploaded
// event, which a receiver dispatches on.
type EventKind string

// Event kinds: the only values Event.Kind takes.
const (
	KindVerdict     EventKind = "verdict"      // one decision on one presented code
	KindDoor        EventKind = "door"         // an input changed: exit button, door contact
	KindDoubleEntry EventKind = "double-entry" // a peer reported the same code used at two kiosks
	KindDisplay     EventKind = "display"      // a display-mode sign-in approved (the door opened) or refused
)

// Event is one entry of the outbox the sync uploader POSTs. It carries the
// code's hash at most, never the code. The upload is idempotent on Nonce:
// every event has its own, so a receiver may deduplicate on it.
type Event struct {
	// Seq is the event's place in the outbox (its id for `kioskd events`),
	// set by PendingEvents; it is not part of the event.
	Seq    uint64    `json:"-"`
	Nonce  string    `json:"nonce"`
	Time   time.Time `json:"time"`
	Kiosk  string    `json:"kiosk"`
	Kind   EventKind `json:"kind"`
	Accept bool      `json:"accept"`
	Reason string    `json:"reason"`
	Hash   string    `json:"hash,omitempty"`
	Detail string    `json:"detail,omitempty"`
	// Input names the scanner or camera a verdict came from (inputs:,
	// issue 20); empty for events not tied to one.
	Input string `json:"input,omitempty"`
	// Incident is shared by the reports of one incident made by several
	// kiosks (a double entry: each of the two kiosks reports it under its
	// own nonce); empty for an event only one kiosk can report.
	Incident string `json:"incident,omitempty"`
}

func encodeEvent(ev Event) ([]byte, error) {
	v, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encoding event: %w", err)
	}
	return v, nil
}

// AppendEvent durably adds an event to the outbox (fsync'd; concurrent
// callers share one fsync). A new nonce is made if ev.Nonce is empty; an event
// whose nonce is already pending is ignored. When the outbox holds
// MaxPendingEvents the oldest event is dropped and counted.
func (s *Store) AppendEvent(ev Event) error {
	if ev.Nonce == "" {
		ev.Nonce = NewNonce()
	}
	v, err := encodeEvent(ev)
	if err != nil {
		return err
	}
	err = s.coalesced(func(tx *bolt.Tx) error {
		return s.appendEventTx(tx, ev.Nonce, v)
	})
	if err != nil {
		return fmt.Errorf("appending event: %w", err)
	}
	return nil
}

func (s *Store) appendEventTx(tx *bolt.Tx, nonce string, v []byte) error {
	idx := tx.Bucket(bucketEventNonces)
	if idx.Get([]byte(nonce)) != nil {
		return nil
	}
	m := tx.Bucket(bucketMeta)
	evs := tx.Bucket(bucketEvents)
	pending := getUint(m, keyPending)
	dropped := uint64(0)
	c := evs.Cursor()
	for k, old := c.First(); k != nil && pending >= uint64(s.opt.MaxPendingEvents); k, old = c.First() {
		var head struct {
			Nonce string `json:"nonce"`
		}
		if err := json.Unmarshal(old, &head); err == nil {
			if err := idx.Delete([]byte(head.Nonce)); err != nil {
				return err
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
		pending--
		dropped++
	}
	if dropped > 0 {
		if err := putUint(m, keyDropped, getUint(m, keyDropped)+dropped); err != nil {
			return err
		}
	}
	seq, err := evs.NextSequence()
	if err != nil {
		return err
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], seq)
	// Sequence keys only grow: pack pages full.
	evs.FillPercent = 1.0
	if err := evs.Put(key[:], v); err != nil {
		return err
	}
	if err := idx.Put([]byte(nonce), key[:]); err != nil {
		return err
	}
	return putUint(m, keyPending, pending+1)
}

// PendingEvents returns up to max outbox events, oldest first.
func (s *Store) PendingEvents(max int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				// A corrupt entry cannot be uploaded; skip it rather than
				// block the outbox forever.
				s.log.Warn("skipping corrupt outbox event", "key", binary.BigEndian.Uint64(k), "err", err)
				continue
			}
			ev.Seq = binary.BigEndian.Uint64(k)
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading outbox: %w", err)
	}
	return out, nil
}

// AckEvents removes uploaded events from the outbox; unknown nonces are ignored.
func (s *Store) AckEvents(nonces []string) error {
	if len(nonces) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		idx := tx.Bucket(bucketEventNonces)
		evs := tx.Bucket(bucketEvents)
		pending := getUint(m, keyPending)
		for _, n := range nonces {
			k := idx.Get([]byte(n))
			if k == nil {
				continue
			}
			if err := evs.Delete(k); err != nil {
				return err
			}
			if err := idx.Delete([]byte(n)); err != nil {
				return err
			}
			if pending > 0 {
				pending--
			}
		}
		return putUint(m, keyPending, pending)
	})
	if err != nil {
		return fmt.Errorf("acknowledging events: %w", err)
	}
	return nil
}

// PendingCount is the number of events waiting in the outbox.
func (s *Store) PendingCount() (int, error) {
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		n = getUint(tx.Bucket(bucketMeta), keyPending)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counting outbox: %w", err)
	}
	return int(n), nil
}

// DroppedEvents is how many events were dropped, ever, because the outbox was full.
func (s *Store) DroppedEvents() (uint64, error) {
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		n = getUint(tx.Bucket(bucketMeta), keyDropped)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading dropped count: %w", err)
	}
	return n, nil
}

// EventDrop selects outbox events for DropEvents: every one (All), those
// stamped before Before, or those with the given ids (Event.Seq). A zero
// EventDrop selects nothing.
type EventDrop struct {
	All    bool
	Before time.Time
	IDs    []uint64
}

func (d EventDrop) match(seq uint64, ev Event) bool {
	switch {
	case d.All:
		return true
	case !d.Before.IsZero() && ev.Time.Before(d.Before):
		return true
	}
	for _, id := range d.IDs {
		if id == seq {
			return true
		}
	}
	return false
}

// DropEvents deletes the selected events from the outbox without uploading
// them (an operator's decision, e.g. an event the receiver always refuses)
// and returns how many were deleted. An entry that does not decode is
// matched by All and IDs only.
func (s *Store) DropEvents(sel EventDrop) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		m := tx.Bucket(bucketMeta)
		idx := tx.Bucket(bucketEventNonces)
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.First(); k != nil; {
			var ev Event
			derr := json.Unmarshal(v, &ev)
			seq := binary.BigEndian.Uint64(k)
			if derr != nil {
				ev = Event{}
			}
			if !sel.match(seq, ev) {
				k, v = c.Next()
				continue
			}
			if ev.Nonce != "" {
				if err := idx.Delete([]byte(ev.Nonce)); err != nil {
					return err
				}
			}
			var key [8]byte
			copy(key[:], k)
			if err := c.Delete(); err != nil {
				return err
			}
			n++
			// Next after a Delete skips an item (bbolt): seek past the gap instead.
			k, v = c.Seek(key[:])
		}
		pending := getUint(m, keyPending)
		return putUint(m, keyPending, pending-min(pending, uint64(n)))
	})
	if err != nil {
		return 0, fmt.Errorf("dropping events: %w", err)
	}
	return n, nil
}
