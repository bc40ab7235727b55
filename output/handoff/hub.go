package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/kioskd/kioskd/internal/backoff"
	"github.com/kioskd/kioskd/store"
)

// Message is one queued payload as a Sender sends it.
type Message struct {
	ID   string // the payload's id: the idempotency key
	Body []byte // the payload's JSON
}

// Sender delivers messages to one receiver. Send returns nil once the
// receiver has the message; an error wrapped by Permanent when the receiver
// refused it for good (it is dropped); any other error is retried later.
// Errors must not carry secrets (credentials, keys, a URL's query).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Runner is a Sender that keeps a connection (MQTT): the Hub runs it for as
// long as it runs.
type Runner interface {
	Run(ctx context.Context) error
}

// Connector is a Sender that keeps a connection: Connected is for status,
// and Up fires when the connection comes (back) up, so a queue waiting out
// a backoff is sent at once.
type Connector interface {
	Connected() bool
	Up() <-chan struct{}
}

// Queue is the durable part: one bounded queue per output (store.Store).
type Queue interface {
	HandoffAppend(items []store.HandoffItem) error
	HandoffPeek(output string, n int) ([]store.HandoffItem, error)
	HandoffRemove(output string, seqs ...uint64) error
	HandoffQueueOf(output string) (store.HandoffQueue, error)
}

// Backoff is the wait after the n-th consecutive failure (backoff.Policy).
type Backoff interface {
	Delay(n int) time.Duration
}

// Output is one configured receiver.
type Output struct {
	// Name is the output's name (config outputs[].name): its queue and its
	// label in status and metrics. Lowercase letters, digits, '-' and '_'.
	Name string
	// Kind is "webhook" or "mqtt", Target where it delivers (no secrets),
	// both for status.
	Kind, Target string
	Sender       Sender
	// AcceptedOnly hands over accepted verdicts only.
	AcceptedOnly bool
	// MaxQueued bounds the queue; 0 = DefaultMaxQueued.
	MaxQueued int
}

// Defaults for Options and Output.
const (
	DefaultMaxQueued = 10000
	DefaultBuffer    = 1024
	DefaultSlowAfter = 2 * time.Second
	// DefaultBackoffMin and Max bound the wait between attempts.
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 2 * time.Minute
	// maxRetryAfter caps a receiver's Retry-After (a hostile or confused
	// receiver must not park the queue for a day).
	maxRetryAfter = 10 * time.Minute
)

// Options configure a Hub.
type Options struct {
	Queue  Queue // required
	Logger *slog.Logger
	// Kiosk and Input name the payloads Verdict makes (Input "" = camera).
	Kiosk, Input string
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Backoff between failed attempts; nil = kioskd's one backoff
	// (internal/backoff) from DefaultBackoffMin to DefaultBackoffMax, with
	// equal jitter.
	Backoff Backoff
	// Buffer is how many messages may wait in memory for the writer;
	// 0 = DefaultBuffer.
	Buffer int
	// SlowAfter: a delivery that took longer makes the receiver "slow" in
	// status; 0 = DefaultSlowAfter.
	SlowAfter time.Duration
}

// Hub owns the outputs: Hand queues, Run delivers. A nil *Hub ignores Hand.
type Hub struct {
	o    Options
	log  *slog.Logger
	outs []*out
	in   chan handed
	lost atomic.Uint64 // messages dropped before reaching the queue
}

// handed is one encoded payload on its way to the queues.
type handed struct {
	body   []byte
	accept bool
}

type out struct {
	Output
	wake chan struct{}

	delivered, refused atomic.Uint64

	mu           stdsync.Mutex
	failures     int
	lastErr      string
	failingSince time.Time
	lastOK       time.Time
	lastLatency  time.Duration
	next         time.Time
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// New checks the outputs and returns a Hub; nothing is delivered until Run.
func New(o Options, outputs []Output) (*Hub, error) {
	if o.Queue == nil {
		return nil, errors.New("outputs: no queue")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Backoff == nil {
		o.Backoff = backoff.Policy{Min: DefaultBackoffMin, Max: DefaultBackoffMax, Low: 0.5, High: 1}
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.SlowAfter <= 0 {
		o.SlowAfter = DefaultSlowAfter
	}
	h := &Hub{o: o, log: o.Logger, in: make(chan handed, o.Buffer)}
	seen := map[string]bool{}
	for _, op := range outputs {
		if !nameRE.MatchString(op.Name) {
			return nil, fmt.Errorf("outputs: bad name %q", op.Name)
		}
		if seen[op.Name] {
			return nil, fmt.Errorf("outputs: %q named twice", op.Name)
		}
		seen[op.Name] = true
		if op.Sender == nil {
			return nil, fmt.Errorf("outputs: %s has no sender", op.Name)
		}
		if op.MaxQueued <= 0 {
			op.MaxQueued = DefaultMaxQueued
		}
		h.outs = append(h.outs, &out{Output: op, wake: make(chan struct{}, 1)})
	}
	return h, nil
}

// Hand queues a payload for every output, without waiting: it is safe to
// call on the scan lane, after the door has been driven. A payload without
// an id gets one.
func (h *Hub) Hand(p Payload) {
	if h == nil || len(h.outs) == 0 {
		return
	}
	if p.ID == "" {
		p.ID = store.NewNonce()
	}
	if p.V == 0 {
		p.V = Version
	}
	body, err := p.Encode()
	if err != nil {
		h.lost.Add(1)
		h.log.Error("hand-off", "err", err)
		return
	}
	select {
	case h.in <- handed{body: body, accept: p.Verdict == "accept"}:
	default:
		// The writer is behind by a whole buffer: the store is stalled.
		// The door must not wait for it.
		if n := h.lost.Add(1); n&(n-1) == 0 { // log at 1, 2, 4, 8, ...
			h.log.Warn("hand-off buffer full: verdict not queued for the outputs", "lost", n)
		}
	}
}

// Run writes handed-over payloads to the queues and delivers them until ctx
// ends. Payloads handed over before ctx ended are written before it returns.
func (h *Hub) Run(ctx context.Context) error {
	var wg stdsync.WaitGroup
	defer wg.Wait()
	for _, o := range h.outs {
		if r, ok := o.Sender.(Runner); ok {
			wg.Go(func() {
				if err := r.Run(ctx); err != nil && ctx.Err() == nil {
					h.log.Error("output stopped", "output", o.Name, "err", err)
				}
			})
		}
		wg.Go(func() { h.deliver(ctx, o) })
	}
	h.write(ctx)
	return nil
}

// write moves payloads from memory to the queues, a batch per transaction.
func (h *Hub) write(ctx context.Context) {
	batch := make([]handed, 0, 64)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			// What was handed over before shutdown is still queued.
			for {
				select {
				case b := <-h.in:
					batch = append(batch, b)
					continue
				default:
				}
				break
			}
			h.append(batch)
			return
		case b := <-h.in:
			batch = append(batch, b)
		}
	more:
		for len(batch) < cap(batch) {
			select {
			case b := <-h.in:
				batch = append(batch, b)
			default:
				break more
			}
		}
		h.append(batch)
	}
}

func (h *Hub) append(batch []handed) {
	if len(batch) == 0 {
		return
	}
	var items []store.HandoffItem
	woken := make([]*out, 0, len(h.outs))
	for _, o := range h.outs {
		n := 0
		for _, b := range batch {
			if o.AcceptedOnly && !b.accept {
				continue
			}
			items = append(items, store.HandoffItem{Output: o.Name, Body: b.body, Max: o.MaxQueued})
			n++
		}
		if n > 0 {
			woken = append(woken, o)
		}
	}
	if err := h.o.Queue.HandoffAppend(items); err != nil {
		h.lost.Add(uint64(len(batch)))
		h.log.Error("queueing verdicts for the outputs", "err", err, "lost", len(batch))
		return
	}
	for _, o := range woken {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
}

// deliver sends o's queue, oldest first, until ctx ends. It reads only the
// head, once per message: a send can hang for its whole timeout while the
// bound drops the oldest, and a message read ahead would then be sent after
// it was dropped and counted so. A read transaction costs microseconds
// beside the send and the removal's fsync.
func (h *Hub) deliver(ctx context.Context, o *out) {
	for ctx.Err() == nil {
		items, err := h.o.Queue.HandoffPeek(o.Name, 1)
		if err != nil {
			h.fail(o, fmt.Errorf("reading the queue: %w", err), 0)
			if !h.wait(ctx, o) {
				return
			}
			continue
		}
		if len(items) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-o.wake:
			}
			continue
		}
		if !h.send(ctx, o, items[0]) && !h.wait(ctx, o) {
			return
		}
	}
}

// send delivers one message and reports whether to go on with the next.
func (h *Hub) send(ctx context.Context, o *out, it store.HandoffItem) bool {
	id, err := payloadID(it.Body)
	if err != nil {
		// Nothing can ever send it: drop it rather than block the queue.
		h.log.Warn("dropping an unreadable queued hand-off", "output", o.Name, "err", err)
		o.refused.Add(1)
		h.remove(o, it.Seq)
		return true
	}
	t0 := h.o.Now()
	err = o.Sender.Send(ctx, Message{ID: id, Body: it.Body})
	took := h.o.Now().Sub(t0)
	if ctx.Err() != nil {
		return false // shutting down: the message stays queued
	}
	switch {
	case err == nil:
		// Counted before it leaves the queue: whoever sees it gone sees it counted.
		o.delivered.Add(1)
		o.mu.Lock()
		o.failures, o.lastErr, o.failingSince, o.next = 0, "", time.Time{}, time.Time{}
		o.lastOK, o.lastLatency = h.o.Now(), took
		o.mu.Unlock()
		h.remove(o, it.Seq)
		if took > h.o.SlowAfter {
			h.log.Warn("output receiver slow", "output", o.Name, "took", took.Round(time.Millisecond))
		}
		return true
	case IsPermanent(err):
		o.refused.Add(1)
		h.remove(o, it.Seq)
		h.log.Warn("output receiver refused a hand-off for good; dropped", "output", o.Name, "id", id, "err", err)
		return true
	}
	h.fail(o, err, retryAfter(err))
	return false
}

func (h *Hub) remove(o *out, seq uint64) {
	if err := h.o.Queue.HandoffRemove(o.Name, seq); err != nil {
		// It will be delivered again: at least once.
		h.log.Error("removing a delivered hand-off from its queue", "output", o.Name, "err", err)
	}
}

func (h *Hub) fail(o *out, err error, after time.Duration) {
	now := h.o.Now()
	o.mu.Lock()
	o.failures++
	if o.failingSince.IsZero() {
		o.failingSince = now
	}
	o.lastErr = err.Error()
	delay := h.o.Backoff.Delay(o.failures)
	if after > delay {
		delay = min(after, maxRetryAfter)
	}
	o.next = now.Add(delay)
	n := o.failures
	o.mu.Unlock()
	if n == 1 || n&(n-1) == 0 {
		h.log.Warn("output delivery failing", "output", o.Name, "failures", n, "err", err, "retry_in", delay.Round(time.Millisecond))
	}
}

// wait sleeps until o's next attempt (or ctx ends: false).
func (h *Hub) wait(ctx context.Context, o *out) bool {
	o.mu.Lock()
	d := o.next.Sub(h.o.Now())
	o.mu.Unlock()
	if d <= 0 {
		return ctx.Err() == nil
	}
	var up <-chan struct{}
	if c, ok := o.Sender.(Connector); ok {
		up = c.Up()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-up:
	}
	return true
}

// Permanent marks a receiver's refusal that retrying cannot change.
func Permanent(err error) error { return &permanentError{err} }

// IsPermanent reports an error made by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// RetryAfter marks a failure after which the receiver asked to wait d
// (HTTP Retry-After): the next attempt waits at least that long (at most
// 10 minutes).
func RetryAfter(err error, d time.Duration) error { return &retryAfterError{err, d} }

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

func retryAfter(err error) time.Duration {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.d
	}
	return 0
}
