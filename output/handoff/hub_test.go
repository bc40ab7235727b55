package handoff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

func openStore(t testing.TB, path string) *store.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "k.db")
	}
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fakeSender answers each Send with the next of its scripted errors (then
// nil) and reports every attempt.
type fakeSender struct {
	mu      stdsync.Mutex
	script  []error
	always  error
	got     []string // ids of delivered messages
	tries   chan string
	release chan struct{} // when set, Send waits for it
	started chan string   // when set, told of each Send as it begins
}

func newFake(script ...error) *fakeSender {
	return &fakeSender{script: script, tries: make(chan string, 1000)}
}

func (f *fakeSender) Send(ctx context.Context, m Message) error {
	if f.started != nil {
		f.started <- m.ID
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	var err error
	switch {
	case f.always != nil:
		err = f.always
	case len(f.script) > 0:
		err, f.script = f.script[0], f.script[1:]
	}
	if err == nil {
		f.got = append(f.got, m.ID)
	}
	f.mu.Unlock()
	select {
	case f.tries <- m.ID:
	default: // a test that stopped counting: never block the deliverer
	}
	return err
}

func (f *fakeSender) delivered() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

type fastBackoff struct{}

func (fastBackoff) Delay(int) time.Duration { return time.Millisecond }

func startHub(t *testing.T, q Queue, outs ...Output) (*Hub, context.CancelFunc, chan struct{}) {
	t.Helper()
	h, err := New(Options{Queue: q, Backoff: fastBackoff{}}, outs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h, cancel, done
}

func payload(id string, accept bool) Payload {
	v := verify.Verdict{Accept: accept, Reason: verify.OK, At: time.Date(2026, 12, 3, 14, 2, 0, 0, time.UTC), Holder: "bb1holder"}
	if !accept {
		v.Reason = verify.AlreadyUsed
	}
	p := FromVerdict("door-a", InputCamera, v)
	p.ID = id
	return p
}

// waitTries waits until the sender saw n attempts.
func waitTries(t *testing.T, f *fakeSender, n int) []string {
	t.Helper()
	var ids []string
	for len(ids) < n {
		select {
		case id := <-f.tries:
			ids = append(ids, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("saw %d attempts (%v), want %d", len(ids), ids, n)
		}
	}
	return ids
}

func waitQueued(t *testing.T, q Queue, name string, n int) {
	t.Helper()
	waitCounts(t, q, name, n, ^uint64(0))
}

// waitCounts waits until the queue holds n and (unless ^0) dropped were dropped.
func waitCounts(t *testing.T, q Queue, name string, n int, dropped uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		hq, err := q.HandoffQueueOf(name)
		if err != nil {
			t.Fatal(err)
		}
		if hq.Queued == n && (dropped == ^uint64(0) || hq.Dropped == dropped) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d queued %d dropped, want %d, %d", name, hq.Queued, hq.Dropped, n, dropped)
		}
		time.Sleep(time.Millisecond) // polling the store: no event to wait on
	}
}

func TestHubDeliversInOrderAndRetries(t *testing.T) {
	for _, c := range []struct {
		name    string
		script  []error
		tries   int
		refused uint64
		want    string
	}{
		{"ok", nil, 3, 0, "[1 2 3]"},
		{"server errors then ok", []error{errors.New("500"), errors.New("timeout")}, 5, 0, "[1 2 3]"},
		{"retry-after", []error{RetryAfter(errors.New("429"), time.Millisecond)}, 4, 0, "[1 2 3]"},
		{"refused for good", []error{Permanent(errors.New("400"))}, 3, 1, "[2 3]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t, "")
			f := newFake(c.script...)
			h, _, _ := startHub(t, st, Output{Name: "till", Kind: "webhook", Sender: f})
			for _, id := range []string{"1", "2", "3"} {
				h.Hand(payload(id, true))
			}
			ids := waitTries(t, f, c.tries)
			waitQueued(t, st, "till", 0)
			if got := fmt.Sprint(f.delivered()); got != c.want {
				t.Fatalf("delivered %s, want %s (attempts %v)", got, c.want, ids)
			}
			s := h.Status()[0]
			if s.Delivered != uint64(strings.Count(c.want, " ")+1) || s.Refused != c.refused || s.Failures != 0 || s.LastError != "" {
				t.Fatalf("status %+v", s)
			}
		})
	}
}

// A dead receiver keeps everything queued, shows in status, and a restart
// with a receiver back delivers it all (the queue is durable).
func TestHubDeadReceiverThenBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	st := openStore(t, path)
	dead := newFake()
	dead.always = errors.New("connection refused")
	h, cancel, done := startHub(t, st, Output{Name: "till", Kind: "webhook", Sender: dead})
	for i := range 5 {
		h.Hand(payload(fmt.Sprint(i), i%2 == 0))
	}
	waitQueued(t, st, "till", 5)
	waitTries(t, dead, 3) // retried, always the oldest
	s := h.Status()[0]
	if s.Failures < 1 || s.Queued != 5 || !strings.Contains(s.LastError, "connection refused") || s.NextAttempt.IsZero() {
		t.Fatalf("status of a dead receiver: %+v", s)
	}
	if p := s.Problem(time.Now()); !strings.Contains(p, "delivery failing") || !strings.Contains(p, "5 queued") {
		t.Fatalf("problem %q", p)
	}
	if len(dead.delivered()) != 0 {
		t.Fatal("a dead receiver got messages")
	}
	cancel()
	<-done
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := openStore(t, path)
	back := newFake()
	h2, _, _ := startHub(t, st2, Output{Name: "till", Kind: "webhook", Sender: back})
	waitTries(t, back, 5)
	waitQueued(t, st2, "till", 0)
	if got := fmt.Sprint(back.delivered()); got != "[0 1 2 3 4]" {
		t.Fatalf("after restart delivered %s", got)
	}
	if s := h2.Status()[0]; s.Problem(time.Now()) != "" {
		t.Fatalf("problem after recovery: %q", s.Problem(time.Now()))
	}
}

// Outputs are independent: a dead one holds back only its own queue, and an
// accepted-only output gets only accepts.
func TestHubOutputsIndependent(t *testing.T) {
	st := openStore(t, "")
	dead, ok := newFake(), newFake()
	dead.always = errors.New("timeout")
	h, _, _ := startHub(t, st, Output{Name: "dead", Sender: dead}, Output{Name: "accepts", Sender: ok, AcceptedOnly: true})
	for i := range 4 {
		h.Hand(payload(fmt.Sprint(i), i%2 == 0))
	}
	waitTries(t, ok, 2)
	waitQueued(t, st, "accepts", 0)
	if got := fmt.Sprint(ok.delivered()); got != "[0 2]" {
		t.Fatalf("accepted-only output got %s", got)
	}
	waitQueued(t, st, "dead", 4)
}

// gatedPeek holds the deliverer's first read of the queue until released, so
// a test can choose what that read sees.
type gatedPeek struct {
	Queue
	release chan struct{}
	once    stdsync.Once
}

func (q *gatedPeek) HandoffPeek(output string, n int) ([]store.HandoffItem, error) {
	q.once.Do(func() { <-q.release })
	return q.Queue.HandoffPeek(output, n)
}

// The queue is bounded: the oldest go, counted in status, and a message the
// bound dropped is not sent afterwards, even one the deliverer had already
// read beside the message it was stuck on.
func TestHubQueueBound(t *testing.T) {
	st := openStore(t, "")
	q := &gatedPeek{Queue: st, release: make(chan struct{})}
	f := newFake()
	f.release = make(chan struct{}) // the receiver hangs
	f.started = make(chan string, 10)
	h, _, _ := startHub(t, q, Output{Name: "till", Sender: f, MaxQueued: 3})
	for i := range 2 {
		h.Hand(payload(fmt.Sprint(i), true))
		waitCounts(t, st, "till", i+1, 0)
	}
	close(q.release) // the deliverer reads 0 and 1 together, then hangs on 0
	if id := <-f.started; id != "0" {
		t.Fatalf("first send was %s", id)
	}
	for i := 2; i < 10; i++ {
		h.Hand(payload(fmt.Sprint(i), true))
		waitCounts(t, st, "till", min(i+1, 3), uint64(max(i-2, 0)))
	}
	s := h.Status()[0]
	if s.Queued != 3 || s.Dropped != 7 {
		t.Fatalf("status %+v, want 3 queued 7 dropped", s)
	}
	close(f.release)
	waitQueued(t, st, "till", 0)
	// The hung Send was for message 0, which the bound then dropped: it was
	// sent (at least once), the rest are the three newest.
	if got := fmt.Sprint(f.delivered()); got != "[0 7 8 9]" {
		t.Fatalf("delivered %s", got)
	}
}

// stalledQueue blocks every append until released: a store stuck in fsync.
type stalledQueue struct {
	Queue
	release chan struct{}
}

func (q stalledQueue) HandoffAppend(items []store.HandoffItem) error {
	<-q.release
	return q.Queue.HandoffAppend(items)
}

// Hand never waits, even when the store does not move: what does not fit in
// the buffer is dropped and counted.
func TestHandNeverBlocks(t *testing.T) {
	st := openStore(t, "")
	q := stalledQueue{Queue: st, release: make(chan struct{})}
	h, err := New(Options{Queue: q, Buffer: 4}, []Output{{Name: "till", Sender: newFake()}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	handed := make(chan struct{})
	go func() {
		for i := range 100 {
			h.Hand(payload(fmt.Sprint(i), true))
		}
		close(handed)
	}()
	select {
	case <-handed:
	case <-time.After(10 * time.Second):
		t.Fatal("Hand blocked on a stalled store")
	}
	// At most the buffer and the writer's batch made it; the rest is counted.
	if s := h.Status()[0]; s.Dropped < 100-4-64 {
		t.Fatalf("dropped %d of 100 with a 4-message buffer", s.Dropped)
	}
	close(q.release)
	cancel()
	<-done
}

// What was handed over just before shutdown is still written.
func TestHubShutdownKeepsHanded(t *testing.T) {
	st := openStore(t, "")
	f := newFake()
	f.always = errors.New("down")
	h, err := New(Options{Queue: st, Backoff: fastBackoff{}}, []Output{{Name: "till", Sender: f}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h.Hand(payload(fmt.Sprint(i), true)) // before Run: buffered
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = h.Run(ctx)
	if q, _ := st.HandoffQueueOf("till"); q.Queued != 3 {
		t.Fatalf("%d queued after shutdown, want 3", q.Queued)
	}
}

func TestNewRefuses(t *testing.T) {
	st := openStore(t, "")
	for _, outs := range [][]Output{
		{{Name: "Bad Name", Sender: newFake()}},
		{{Name: "a", Sender: newFake()}, {Name: "a", Sender: newFake()}},
		{{Name: "a"}},
	} {
		if _, err := New(Options{Queue: st}, outs); err == nil {
			t.Errorf("New accepted %+v", outs)
		}
	}
	if _, err := New(Options{}, nil); err == nil {
		t.Error("New accepted no queue")
	}
	var h *Hub
	h.Hand(Payload{}) // a nil hub is a no-op
}

// The payload carries who and what, never the code nor its hash.
func TestPayload(t *testing.T) {
	code := strings.Repeat("ab", 32)
	v := verify.Verdict{Accept: true, Reason: verify.OK, Hash: store.HashCode(code), Name: "Loyalty card",
		Address: "0xabc", Holder: "bb1holder", At: time.Date(2026, 12, 3, 14, 2, 0, 0, time.FixedZone("CET", 3600)), Online: true}
	p := FromVerdict("door-a", InputCamera, v)
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, code) || strings.Contains(s, v.Hash) {
		t.Fatalf("payload holds the code or its hash: %s", s)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"v":1,"id":%q,"kiosk":"door-a","input":"camera","time":"2026-12-03T13:02:00Z","verdict":"accept","reason":"ok",`+
		`"holder":{"bitbadges_address":"bb1holder","address":"0xabc","name":"Loyalty card"},"online":true}`, p.ID)
	if s != want {
		t.Fatalf("payload\n%s\nwant\n%s", s, want)
	}
	if len(p.ID) != 32 || FromVerdict("door-a", InputCamera, v).ID == p.ID {
		t.Fatalf("ids must be 128 random bits, one per verdict: %q", p.ID)
	}
	v.Nonce = "0123456789abcdef0123456789abcdef"
	if FromVerdict("door-a", InputCamera, v).ID != v.Nonce || FromVerdict("door-b", InputCamera, v).ID != v.Nonce {
		t.Fatal("the id is not the verdict's event nonce")
	}
	nc := FromVerdict("door-a", InputCamera, verify.Verdict{Reason: verify.NotACode})
	if nc.Holder != nil || nc.Verdict != "reject" || nc.Reason != "not-a-code" {
		t.Fatalf("not a code: %+v", nc)
	}
}

// BenchmarkHand measures what the hand-off costs the scan lane per verdict:
// building and encoding the payload and the channel send (the store write
// happens on the writer goroutine).
func BenchmarkHand(b *testing.B) {
	st := openStore(b, "")
	h, err := New(Options{Queue: st, Buffer: 1 << 16}, []Output{{Name: "till", Sender: newFake()}, {Name: "mqtt", Sender: newFake()}})
	if err != nil {
		b.Fatal(err)
	}
	v := verify.Verdict{Accept: true, Reason: verify.OK, Name: "Loyalty card", Address: "0xabc", Holder: "bb1holder", At: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.Hand(FromVerdict("door-a", InputCamera, v))
	}
	b.StopTimer()
	cancel()
	<-done
}

// A Hub is what an output registry expects: Verdict hands over at once,
// Describe and Problems say what it is and what is wrong.
func TestHubAsOutput(t *testing.T) {
	st := openStore(t, "")
	f := newFake()
	f.always = errors.New("connection refused")
	h, err := New(Options{Queue: st, Backoff: fastBackoff{}, Kiosk: "door-a"}, []Output{{Name: "till", Kind: "webhook", Target: "https://till/x", Sender: f}})
	if err != nil {
		t.Fatal(err)
	}
	if d := h.Describe(); d != "webhook till to https://till/x" {
		t.Fatalf("Describe %q", d)
	}
	h.Verdict(verify.Verdict{Accept: true, Reason: verify.OK, Holder: "bb1x", At: time.Now()})
	items, _ := st.HandoffPeek("till", 1)
	if len(items) != 0 {
		t.Fatal("queued before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitTries(t, f, 1)
	lines, unhealthy := h.Problems()
	for deadline := time.Now().Add(10 * time.Second); len(lines) == 0 && time.Now().Before(deadline); lines, unhealthy = h.Problems() {
		time.Sleep(time.Millisecond) // the failure is recorded just after Send returns
	}
	if len(lines) != 1 || unhealthy || !strings.Contains(lines[0], "output till (webhook): delivery failing") {
		t.Fatalf("problems %q unhealthy %v", lines, unhealthy)
	}
	f.mu.Lock()
	f.always = nil // the receiver is back
	f.mu.Unlock()
	waitQueued(t, st, "till", 0)
	if got := f.delivered(); len(got) != 1 {
		t.Fatalf("delivered %v", got)
	}
}
