package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
)

// receiver is an events endpoint that answers from a script.
type receiver struct {
	mu       stdsync.Mutex
	batches  [][]store.Event
	keys     []string
	auth     []string
	statuses []int          // answers in turn; then 200
	refuse   map[string]int // nonce → status, for any batch holding it
	retry    string         // Retry-After on errors
	seen     map[string]int // nonce → times received
	always   int            // when set, the answer to every request
	maxBatch int            // when set, larger batches get a 413
	requests int
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Events []store.Event `json:"events"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad json", 400)
		return
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.keys = append(rv.keys, r.Header.Get("Idempotency-Key"))
	rv.auth = append(rv.auth, r.Header.Get("Authorization"))
	rv.requests++
	if rv.always != 0 {
		w.WriteHeader(rv.always)
		return
	}
	if rv.maxBatch > 0 && len(body.Events) > rv.maxBatch {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	for _, e := range body.Events {
		if code, ok := rv.refuse[e.Nonce]; ok {
			w.WriteHeader(code)
			return
		}
	}
	if len(rv.statuses) > 0 {
		code := rv.statuses[0]
		rv.statuses = rv.statuses[1:]
		if code != 200 {
			if rv.retry != "" {
				w.Header().Set("Retry-After", rv.retry)
			}
			w.WriteHeader(code)
			return
		}
	}
	rv.batches = append(rv.batches, body.Events)
	if rv.seen == nil {
		rv.seen = map[string]int{}
	}
	for _, e := range body.Events {
		rv.seen[e.Nonce]++
	}
}

func newOutbox(t *testing.T, n int) (*store.Store, []string) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "kioskd.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var nonces []string
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		nonce := fmt.Sprintf("nonce-%04d", i)
		if err := st.AppendEvent(store.Event{Nonce: nonce, Time: base.Add(time.Duration(i) * time.Second),
			Kiosk: "door-1", Kind: store.KindVerdict, Accept: i%2 == 0, Reason: "ok"}); err != nil {
			t.Fatal(err)
		}
		nonces = append(nonces, nonce)
	}
	return st, nonces
}

func newUploader(t *testing.T, st *store.Store, rv *receiver) *Uploader {
	t.Helper()
	ts := httptest.NewServer(rv)
	t.Cleanup(ts.Close)
	return &Uploader{Outbox: st, BatchSize: 10,
		Transport: &HTTPTransport{URL: ts.URL + "/events", Token: "events-bearer-token"}}
}

func pending(t *testing.T, st *store.Store) int {
	t.Helper()
	n, err := st.PendingCount()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUploaderDrainsOldestFirst(t *testing.T) {
	st, nonces := newOutbox(t, 25)
	rv := &receiver{}
	u := newUploader(t, st, rv)
	if err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pending(t, st) != 0 {
		t.Fatal("events left")
	}
	var got []string
	for _, b := range rv.batches {
		if len(b) > 10 {
			t.Fatalf("batch of %d", len(b))
		}
		for _, e := range b {
			got = append(got, e.Nonce)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(nonces) {
		t.Fatalf("order %v", got)
	}
	if len(rv.batches) != 3 || rv.auth[0] != "Bearer events-bearer-token" || len(rv.keys[0]) != 32 || rv.keys[0] == rv.keys[1] {
		t.Fatalf("batches %d, auth %q, keys %q", len(rv.batches), rv.auth[0], rv.keys)
	}
	if s := u.Stats(); s.Sent != 25 || s.Stuck != 0 || s.LastError != "" {
		t.Fatalf("stats %+v", s)
	}
}

func TestUploaderRetriesKeepEvents(t *testing.T) {
	st, _ := newOutbox(t, 15)
	rv := &receiver{statuses: []int{200, 503}}
	u := newUploader(t, st, rv)
	err := u.Flush(context.Background())
	if err == nil {
		t.Fatal("no error for a 503")
	}
	if pending(t, st) != 5 {
		t.Fatalf("pending %d, want 5 (only the accepted batch removed)", pending(t, st))
	}
	// The retry resends the same batch with the same idempotency key.
	if err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pending(t, st) != 0 || rv.keys[1] != rv.keys[2] {
		t.Fatalf("pending %d, keys %q", pending(t, st), rv.keys)
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		codes []int
		want  AnswerClass
	}{
		{[]int{200, 201, 202, 204, 299}, Accepted},
		{[]int{408, 425, 429, 500, 502, 503, 504, 599}, Unavailable},
		{[]int{413}, TooLarge},
		{[]int{400, 409, 422}, Refused},
		{[]int{100, 301, 302, 303, 304, 307, 308, 401, 402, 403, 404, 405, 406, 407, 410, 411, 415, 418, 451, 600}, Misconfigured},
	}
	for _, tt := range tests {
		for _, code := range tt.codes {
			if got := ClassifyStatus(code); got != tt.want {
				t.Errorf("ClassifyStatus(%d) = %v, want %v", code, got, tt.want)
			}
		}
	}
}

// Only a 2xx removes events. Whatever else a receiver answers to every
// request (a URL pointing at a static site, a proxy wanting a login, a
// validation rule), the backlog stays, the error and the stuck events show,
// and the number of requests per drain stays bounded.
func TestUploaderKeepsEventsUnlessAccepted(t *testing.T) {
	tests := []struct {
		code      int
		wantStuck int // events reported refused
		maxReqs   int // per drain
	}{
		{400, 1, 2}, // the batch, then its first event alone: refused too
		{405, 10, 1},
		{407, 10, 1},
		{413, 1, 5}, // halved 10 → 5 → 2 → 1, then kept
		{422, 1, 2},
		{401, 10, 1},
		{404, 10, 1},
		{410, 10, 1},
		{503, 0, 1}, // unavailable: nothing refused, retried later
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			st, _ := newOutbox(t, 25)
			rv := &receiver{always: tt.code}
			u := newUploader(t, st, rv)
			first, _ := st.PendingEvents(1)
			for drain := 0; drain < 2; drain++ {
				rv.mu.Lock()
				rv.requests = 0
				rv.mu.Unlock()
				err := u.Flush(context.Background())
				if err == nil {
					t.Fatalf("HTTP %d: no error", tt.code)
				}
				if n := pending(t, st); n != 25 {
					t.Fatalf("HTTP %d: %d events pending, want all 25", tt.code, n)
				}
				s := u.Stats()
				if !strings.Contains(s.LastError, fmt.Sprintf("HTTP %d", tt.code)) || s.Failures != drain+1 || s.Sent != 0 {
					t.Fatalf("HTTP %d: stats %+v", tt.code, s)
				}
				if s.Stuck != tt.wantStuck || (tt.wantStuck > 0 && s.StuckID != first[0].Seq) {
					t.Fatalf("HTTP %d: stuck %d (id %d), want %d (id %d)", tt.code, s.Stuck, s.StuckID, tt.wantStuck, first[0].Seq)
				}
				rv.mu.Lock()
				reqs := rv.requests
				rv.mu.Unlock()
				if reqs > tt.maxReqs {
					t.Fatalf("HTTP %d: %d requests in one drain, want at most %d", tt.code, reqs, tt.maxReqs)
				}
			}
			if strings.Contains(u.Stats().LastError, "events-bearer-token") {
				t.Fatal("the token is in the error")
			}
		})
	}
}

// One event the receiver always refuses: those before it go through, the
// outbox then waits at it (shown, with its id) until an operator drops it.
func TestUploaderPoisonEvent(t *testing.T) {
	st, nonces := newOutbox(t, 12)
	rv := &receiver{refuse: map[string]int{nonces[3]: 422}}
	u := newUploader(t, st, rv)
	for drain := 1; drain <= 2; drain++ {
		err := u.Flush(context.Background())
		if err == nil || !strings.Contains(err.Error(), "422") {
			t.Fatalf("drain %d: err %v", drain, err)
		}
		if n := pending(t, st); n != 9 {
			t.Fatalf("drain %d: pending %d, want 9 (the 3 before the refused one sent)", drain, n)
		}
		s := u.Stats()
		evs, _ := st.PendingEvents(1)
		if evs[0].Nonce != nonces[3] || s.Stuck != 1 || s.StuckID != evs[0].Seq || s.Sent != 3 {
			t.Fatalf("drain %d: stats %+v, oldest pending %+v", drain, s, evs[0])
		}
		if !strings.Contains(s.LastError, fmt.Sprintf("drop -id %d", evs[0].Seq)) {
			t.Fatalf("drain %d: error %q does not say how to drop the event", drain, s.LastError)
		}
	}
	if rv.seen[nonces[3]] != 0 || rv.seen[nonces[2]] != 1 {
		t.Fatalf("receiver saw %v", rv.seen)
	}
	evs, _ := st.PendingEvents(1)
	if n, err := st.DropEvents(store.EventDrop{IDs: []uint64{evs[0].Seq}}); n != 1 || err != nil {
		t.Fatalf("drop: %d, %v", n, err)
	}
	if err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := u.Stats(); pending(t, st) != 0 || s.Sent != 11 || s.Stuck != 0 || s.LastError != "" {
		t.Fatalf("after the drop: pending %d, stats %+v", pending(t, st), s)
	}
}

// A 413 halves the batch until the receiver takes it; nothing is lost.
func TestUploaderSplitsTooLargeBatches(t *testing.T) {
	st, nonces := newOutbox(t, 25)
	rv := &receiver{maxBatch: 3}
	u := newUploader(t, st, rv) // batches of 10
	if err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range rv.batches {
		if len(b) > 3 {
			t.Fatalf("batch of %d taken", len(b))
		}
		for _, e := range b {
			got = append(got, e.Nonce)
		}
	}
	if pending(t, st) != 0 || fmt.Sprint(got) != fmt.Sprint(nonces) {
		t.Fatalf("pending %d, received %v", pending(t, st), got)
	}
	// 10 → 5 → 2 once, then batches of 2: a few refusals, not one per batch.
	if rv.requests > 3+13 {
		t.Fatalf("%d requests", rv.requests)
	}
	// The next backlog starts from the configured size again (the 413 may
	// have been one big event's).
	rv.mu.Lock()
	rv.maxBatch, rv.batches = 0, nil
	rv.mu.Unlock()
	for i := 0; i < 10; i++ {
		if err := st.AppendEvent(store.Event{Nonce: fmt.Sprintf("later-%d", i), Kind: store.KindVerdict}); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rv.batches) != 1 || len(rv.batches[0]) != 10 {
		t.Fatalf("later backlog sent in %d batches", len(rv.batches))
	}
}

// A 301/302/303 would turn the POST into a GET that a static page answers
// with 200: the events would be acknowledged unseen.
func TestUploaderRedirectToAPageKeepsEvents(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html>welcome</html>")
	}))
	defer page.Close()
	for _, code := range []int{301, 302, 303} {
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, page.URL+"/", code)
		}))
		st, _ := newOutbox(t, 5)
		u := &Uploader{Outbox: st, Transport: &HTTPTransport{URL: redirect.URL + "/events"}}
		err := u.Flush(context.Background())
		redirect.Close()
		if err == nil || pending(t, st) != 5 {
			t.Fatalf("redirect %d: err %v, pending %d", code, err, pending(t, st))
		}
	}
	// 307 and 308 keep the POST: followed.
	rv := &receiver{}
	ts := httptest.NewServer(rv)
	defer ts.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, ts.URL+"/events", http.StatusPermanentRedirect)
	}))
	defer redirect.Close()
	st, _ := newOutbox(t, 5)
	u := &Uploader{Outbox: st, Transport: &HTTPTransport{URL: redirect.URL}}
	if err := u.Flush(context.Background()); err != nil || pending(t, st) != 0 || len(rv.batches) != 1 {
		t.Fatalf("308: err %v, pending %d", err, pending(t, st))
	}
}

func TestUploaderRunBacksOff(t *testing.T) {
	st, _ := newOutbox(t, 4)
	rv := &receiver{statuses: []int{429, 500}, retry: "120"}
	u := newUploader(t, st, rv)
	clk := newFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	u.Clock, u.Rand, u.Interval = clk, func() float64 { return 0 }, time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	for i, want := range []time.Duration{0, 2 * time.Minute, 2 * time.Minute, time.Minute} {
		r := clk.next(t)
		if r.d != want {
			t.Fatalf("wait %d = %v, want %v", i, r.d, want)
		}
		if i == 3 && pending(t, st) != 0 {
			t.Fatal("not drained after recovery")
		}
		clk.fire(r)
	}
	clk.next(t)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A poison event under Run: each attempt costs the same few requests, the
// waits double up to MaxBackoff and stay there, and kicks (new verdicts) do
// not cut a wait short.
func TestUploaderRunPoisonBacksOffCapped(t *testing.T) {
	st, nonces := newOutbox(t, 4)
	rv := &receiver{refuse: map[string]int{nonces[0]: 422}}
	u := newUploader(t, st, rv)
	clk := newFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	u.Clock, u.Rand = clk, func() float64 { return 0.999999 }
	u.MinBackoff, u.MaxBackoff = 5*time.Second, 30*time.Second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	want := []time.Duration{0, 5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		r := clk.next(t)
		if d := r.d.Round(time.Second); d != w {
			t.Fatalf("wait %d = %v, want %v", i, d, w)
		}
		if i > 0 { // while failing
			u.Kick()
			select {
			case r2 := <-clk.timers:
				t.Fatalf("a kick during the wait started another attempt (timer %v)", r2.d)
			case <-time.After(20 * time.Millisecond): // a kick obeyed asks for a timer at once
			}
		}
		rv.mu.Lock()
		reqs := rv.requests
		rv.mu.Unlock()
		if reqs > 2*i {
			t.Fatalf("%d requests after %d attempts", reqs, i)
		}
		clk.fire(r)
	}
	clk.next(t)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := u.Stats(); pending(t, st) != 4 || s.Stuck != 1 || s.Failures != len(want) {
		t.Fatalf("pending %d, stats %+v", pending(t, st), s)
	}
}

// stuckOutbox never forgets an event: the uploader must not spin on it.
type stuckOutbox struct{ ev store.Event }

func (s stuckOutbox) PendingEvents(int) ([]store.Event, error) { return []store.Event{s.ev}, nil }
func (stuckOutbox) AckEvents([]string) error                   { return nil }
func (stuckOutbox) PendingCount() (int, error)                 { return 1, nil }

func TestUploaderNoSpinOnStuckOutbox(t *testing.T) {
	rv := &receiver{}
	ts := httptest.NewServer(rv)
	defer ts.Close()
	u := &Uploader{Outbox: stuckOutbox{store.Event{Nonce: "n1"}}, Transport: &HTTPTransport{URL: ts.URL}}
	if err := u.Flush(context.Background()); err == nil {
		t.Fatal("no error for an event that stays after its ack")
	}
}

// A receiver whose URL carries its key in the query: a failed POST's error
// (logged each attempt, shown on the status page) must not repeat it.
func TestHTTPTransportErrorHidesTheQuery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now: the POST fails in the transport
	tr := &HTTPTransport{URL: "http://" + addr + "/ingest?key=Qu3ry-s3cret", Token: "B3arer-s3cret", Timeout: 2 * time.Second}
	err = tr.Send(context.Background(), []store.Event{{Nonce: "n1", Kind: store.KindVerdict}})
	if err == nil {
		t.Fatal("send to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q carries a secret", err)
	}
	if !strings.Contains(err.Error(), "/ingest") {
		t.Errorf("error %q does not say where it was sending", err)
	}
}
