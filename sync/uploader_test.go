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
	if s := u.Stats(); s.Sent != 25 || s.Dropped != 0 {
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

func TestUploaderDropsPermanent(t *testing.T) {
	st, nonces := newOutbox(t, 12)
	rv := &receiver{refuse: map[string]int{nonces[3]: 422}}
	u := newUploader(t, st, rv)
	if err := u.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pending(t, st) != 0 {
		t.Fatal("events left")
	}
	if s := u.Stats(); s.Dropped != 1 || s.Sent != 11 {
		t.Fatalf("stats %+v: only the bad event should be dropped", s)
	}
	if rv.seen[nonces[3]] != 0 || rv.seen[nonces[4]] != 1 {
		t.Fatal("wrong event dropped")
	}
	// 401, 403, 404, 408 and 429 are not permanent: nothing is dropped.
	for _, code := range []int{401, 403, 404, 408, 429} {
		st, nonces := newOutbox(t, 3)
		rv := &receiver{refuse: map[string]int{nonces[0]: code}}
		u := newUploader(t, st, rv)
		if err := u.Flush(context.Background()); err == nil || pending(t, st) != 3 {
			t.Fatalf("HTTP %d: err %v, pending %d", code, err, pending(t, st))
		}
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
