package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The hand-off queues (package output/handoff hands each verdict to a till or a
// loyalty service over a webhook or MQTT).
//
// Each configured output has its own queue, so a dead receiver holds back
// only its own deliveries. The store keeps the queued messages as opaque
// bytes (the output package's JSON): it never sees a code, and nothing here
// knows what a receiver is.
//
//	handoff          one nested bucket per output name:
//	  <name>/q       8-byte sequence → message (oldest first)
//	  <name> queued  how many messages wait in q
//	  <name> dropped how many were dropped, ever, because q was full
//
// A queue is bounded by each item's Max: when it is full the
// oldest message is dropped and counted in the same transaction (a till
// wants the customers of now rather than those of three days ago, and the
// loss is visible). A message leaves otherwise only by HandoffRemove (the
// receiver acknowledged it, or refused it for good) or HandoffDrop (an
// operator). Queues of outputs no longer configured are kept until dropped.
var (
	bucketHandoff = []byte("handoff")

	bucketHandoffQueue = []byte("q")
	keyHandoffQueued   = []byte("queued")
	keyHandoffDropped  = []byte("dropped")
)

// HandoffItem is one message for one output's receiver.
type HandoffItem struct {
	// Output names the queue.
	Output string
	// Seq is the message's place in its queue, set by HandoffPeek.
	Seq  uint64
	Body []byte
	// Max bounds the output's queue when appending (at least 1).
	Max int
}

// HandoffQueue describes one output's queue.
type HandoffQueue struct {
	Output  string
	Queued  int
	Dropped uint64 // dropped, ever, because the queue was full
}

// HandoffAppend durably adds messages to their outputs' queues, all in one
// fsync'd transaction (concurrent callers share one fsync). A queue holding
// an item's Max messages drops its oldest, counted, to make room.
func (s *Store) HandoffAppend(items []HandoffItem) error {
	if len(items) == 0 {
		return nil
	}
	for _, it := range items {
		if it.Output == "" {
			return errors.New("appending hand-off messages: no output name")
		}
		if it.Max < 1 {
			return errors.New("appending hand-off messages: queue bound below 1")
		}
	}
	err := s.coalesced(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(bucketHandoff)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := handoffAppendTx(root, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("appending hand-off messages: %w", err)
	}
	return nil
}

func handoffAppendTx(root *bolt.Bucket, it HandoffItem) error {
	max := uint64(it.Max)
	ob, err := root.CreateBucketIfNotExists([]byte(it.Output))
	if err != nil {
		return err
	}
	q, err := ob.CreateBucketIfNotExists(bucketHandoffQueue)
	if err != nil {
		return err
	}
	queued := getUint(ob, keyHandoffQueued)
	var dropped uint64
	c := q.Cursor()
	for k, _ := c.First(); k != nil && queued >= max; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		queued--
		dropped++
	}
	if dropped > 0 {
		if err := putUint(ob, keyHandoffDropped, getUint(ob, keyHandoffDropped)+dropped); err != nil {
			return err
		}
	}
	seq, err := q.NextSequence()
	if err != nil {
		return err
	}
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], seq)
	q.FillPercent = 1.0 // sequence keys only grow: pack pages full
	if err := q.Put(key[:], it.Body); err != nil {
		return err
	}
	return putUint(ob, keyHandoffQueued, queued+1)
}

// HandoffPeek returns up to n of an output's queued messages, oldest first,
// without removing them.
func (s *Store) HandoffPeek(output string, n int) ([]HandoffItem, error) {
	var out []HandoffItem
	err := s.db.View(func(tx *bolt.Tx) error {
		q := handoffQueue(tx, output)
		if q == nil {
			return nil
		}
		c := q.Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			if len(k) != 8 {
				continue
			}
			// bbolt's slices live only as long as the transaction.
			out = append(out, HandoffItem{Output: output, Seq: binary.BigEndian.Uint64(k), Body: append([]byte(nil), v...)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading hand-off queue %s: %w", output, err)
	}
	return out, nil
}

// HandoffRemove removes delivered (or refused) messages from an output's
// queue; sequences not queued are ignored. It is fsync'd: a message
// acknowledged by its receiver is not delivered again after a power cut,
// unless the cut came between the receiver's answer and this write
// (at-least-once).
func (s *Store) HandoffRemove(output string, seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	err := s.coalesced(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketHandoff)
		if root == nil {
			return nil
		}
		ob := root.Bucket([]byte(output))
		if ob == nil || ob.Bucket(bucketHandoffQueue) == nil {
			return nil
		}
		q := ob.Bucket(bucketHandoffQueue)
		queued := getUint(ob, keyHandoffQueued)
		var key [8]byte
		for _, seq := range seqs {
			binary.BigEndian.PutUint64(key[:], seq)
			if q.Get(key[:]) == nil {
				continue
			}
			if err := q.Delete(key[:]); err != nil {
				return err
			}
			queued -= min(queued, 1)
		}
		return putUint(ob, keyHandoffQueued, queued)
	})
	if err != nil {
		return fmt.Errorf("removing hand-off messages from %s: %w", output, err)
	}
	return nil
}

// HandoffQueues describes every output's queue in the store, by name,
// including those of outputs no longer configured.
func (s *Store) HandoffQueues() ([]HandoffQueue, error) {
	var out []HandoffQueue
	err := s.db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketHandoff)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(name []byte) error {
			ob := root.Bucket(name)
			out = append(out, HandoffQueue{Output: string(name), Queued: int(getUint(ob, keyHandoffQueued)),
				Dropped: getUint(ob, keyHandoffDropped)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading hand-off queues: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Output < out[j].Output })
	return out, nil
}

// HandoffQueueOf describes one output's queue (zero counts when it has none).
func (s *Store) HandoffQueueOf(output string) (HandoffQueue, error) {
	hq := HandoffQueue{Output: output}
	err := s.db.View(func(tx *bolt.Tx) error {
		if root := tx.Bucket(bucketHandoff); root != nil {
			if ob := root.Bucket([]byte(output)); ob != nil {
				hq.Queued, hq.Dropped = int(getUint(ob, keyHandoffQueued)), getUint(ob, keyHandoffDropped)
			}
		}
		return nil
	})
	if err != nil {
		return hq, fmt.Errorf("reading hand-off queue %s: %w", output, err)
	}
	return hq, nil
}

// HandoffDrop deletes an output's queue and its counters (an operator's
// decision: the output is gone for good) and returns how many messages
// were queued.
func (s *Store) HandoffDrop(output string) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketHandoff)
		if root == nil {
			return nil
		}
		ob := root.Bucket([]byte(output))
		if ob == nil {
			return nil
		}
		n = int(getUint(ob, keyHandoffQueued))
		if err := root.DeleteBucket([]byte(output)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dropping hand-off queue %s: %w", output, err)
	}
	return n, nil
}

func handoffQueue(tx *bolt.Tx, output string) *bolt.Bucket {
	root := tx.Bucket(bucketHandoff)
	if root == nil {
		return nil
	}
	ob := root.Bucket([]byte(output))
	if ob == nil {
		return nil
	}
	return ob.Bucket(bucketHandoffQueue)
}
