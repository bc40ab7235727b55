package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/output/handoff"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

var testKey = []byte("test-hmac-key-0123456789")

// receiver is an httptest receiver that checks every request as a real one
// would and answers with the next scripted behaviour.
type receiver struct {
	t      *testing.T
	mu     stdsync.Mutex
	script []func(w http.ResponseWriter, r *http.Request) // then 204
	ids    []string                                       // delivered (answered 2xx)
	bad    []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := Verify(testKey, r.Header.Get(SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		rc.mu.Lock()
		rc.bad = append(rc.bad, err.Error())
		rc.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("Idempotency-Key")
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"id":"`+id+`"`) {
		rc.mu.Lock()
		rc.bad = append(rc.bad, fmt.Sprintf("%s %q id %q", r.Method, r.Header.Get("Content-Type"), id))
		rc.mu.Unlock()
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	var next func(http.ResponseWriter, *http.Request)
	if len(rc.script) > 0 {
		next, rc.script = rc.script[0], rc.script[1:]
	}
	rc.mu.Unlock()
	if next != nil {
		rec := httptest.NewRecorder()
		next(rec, r)
		if r.Context().Err() != nil {
			return // the client gave up: not delivered
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if rec.Code < 200 || rec.Code >= 300 {
			return
		}
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	rc.mu.Lock()
	rc.ids = append(rc.ids, id)
	rc.mu.Unlock()
}

func (rc *receiver) delivered() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.ids...)
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// hang answers only once the client gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func msg(id string) handoff.Message {
	return handoff.Message{ID: id, Body: []byte(`{"v":1,"id":"` + id + `","verdict":"accept"}`)}
}

func TestSendAnswers(t *testing.T) {
	for _, c := range []struct {
		name      string
		answer    func(http.ResponseWriter, *http.Request)
		permanent bool
		ok        bool
		errHas    string
		after     time.Duration
	}{
		{"200", status(200), false, true, "", 0},
		{"204", nil, false, true, "", 0},
		{"500 fails", status(500), false, false, "answered 500", 0},
		{"503 retry-after", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
		}, false, false, "answered 503", 7 * time.Second},
		{"408", status(408), false, false, "answered 408", 0},
		{"429", status(429), false, false, "answered 429", 0},
		{"400 refused for good", status(400), true, false, "refused with 400", 0},
		{"404 refused for good", status(404), true, false, "refused with 404", 0},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusTemporaryRedirect)
		}, false, false, "not followed", 0},
		{"timeout", hang, false, false, "no answer within 200ms", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := &receiver{t: t}
			if c.answer != nil {
				rc.script = append(rc.script, c.answer)
			}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			s, err := New(Options{URL: srv.URL + "/kioskd?token=s3cret-in-query", Key: testKey, Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Send(context.Background(), msg("id-1"))
			if c.ok != (err == nil) || handoff.IsPermanent(err) != c.permanent {
				t.Fatalf("Send = %v (permanent %v), want ok %v permanent %v", err, handoff.IsPermanent(err), c.ok, c.permanent)
			}
			if err != nil && (!strings.Contains(err.Error(), c.errHas) || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), string(testKey))) {
				t.Fatalf("error %q: want %q, and no secret", err, c.errHas)
			}
			if c.after > 0 {
				// The hub honours it: checked through a retry below.
				if !strings.Contains(fmt.Sprintf("%#v", err), "retryAfter") {
					t.Fatalf("Retry-After lost: %#v", err)
				}
			}
			if len(rc.bad) > 0 {
				t.Fatalf("the receiver saw bad requests: %v", rc.bad)
			}
			if strings.Contains(s.Target(), "s3cret") || s.Target() != srv.URL+"/kioskd" {
				t.Fatalf("target %q", s.Target())
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	for _, o := range []Options{
		{URL: "ftp://till/x", Key: testKey},
		{URL: "https://user:pass@till/x", Key: testKey},
		{URL: "https:///x", Key: testKey},
		{URL: "https://till/x"},
		{URL: "https://till/x", Key: testKey, TLS: &tls.Config{InsecureSkipVerify: true}},
		{URL: "://bad", Key: testKey},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New accepted %+v", o)
		} else if strings.Contains(err.Error(), "pass") {
			t.Errorf("error quotes credentials: %v", err)
		}
	}
}

// TLS is verified: an unknown certificate fails (retried, for an operator
// to fix), the venue's CA makes it work.
func TestSendTLS(t *testing.T) {
	rc := &receiver{t: t}
	srv := httptest.NewTLSServer(rc)
	defer srv.Close()
	s, err := New(Options{URL: srv.URL, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), msg("a"))
	if err == nil || handoff.IsPermanent(err) || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("self-signed receiver: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	s, err = New(Options{URL: srv.URL, Key: testKey, TLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), msg("b")); err != nil {
		t.Fatalf("with the venue's CA: %v", err)
	}
	if got := fmt.Sprint(rc.delivered()); got != "[b]" {
		t.Fatalf("delivered %s", got)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"v":1}`)
	good := Sign(testKey, now, body)
	other := Sign([]byte("other key"), now, body)
	_, otherSig, _ := strings.Cut(other, ",")
	for _, c := range []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"good", good, body, now, nil},
		{"within window", good, body, now.Add(4 * time.Minute), nil},
		{"two keys, one matching (rotation)", good + "," + otherSig, body, now, nil},
		{"spaces and unknown fields", " " + strings.ReplaceAll(good, ",", " , ") + ",v0=zz", body, now, nil},
		{"replayed late", good, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", good, body, now.Add(-6 * time.Minute), ErrStale},
		{"tampered body", good, []byte(`{"v":2}`), now, ErrSignature},
		{"other key", other, body, now, ErrSignature},
		{"time changed", strings.Replace(good, "t=1800000000", "t=1800000001", 1), body, now, ErrSignature},
		{"empty", "", body, now, ErrMalformed},
		{"no signature", "t=1800000000", body, now, ErrMalformed},
		{"no time", "v1=" + strings.Repeat("00", 32), body, now, ErrMalformed},
		{"short signature", "t=1800000000,v1=abcd", body, now, ErrMalformed},
		{"not hex", "t=1800000000,v1=" + strings.Repeat("zz", 32), body, now, ErrMalformed},
		{"bare word", "t=1800000000,v1", body, now, ErrMalformed},
	} {
		if err := Verify(testKey, c.header, c.body, c.now, 5*time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify(%q) = %v, want %v", c.name, c.header, err, c.want)
		}
	}
	// The documented construction, by hand: HMAC-SHA256 over "<t>.<body>".
	if good != "t=1800000000,v1="+fmt.Sprintf("%x", mac(testKey, "1800000000", body)) {
		t.Fatalf("signature %q", good)
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(Sign(testKey, now, []byte("{}")), []byte("{}"))
	f.Add("t=1,v1=00", []byte(""))
	f.Add("t=-99999999999999999,v1="+strings.Repeat("ab", 32), []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(testKey, header, body, now, 5*time.Minute)
		if err == nil && !strings.Contains(header, "v1=") {
			t.Fatalf("accepted %q without a signature", header)
		}
		if err == nil && Verify([]byte("another key"), header, body, now, 5*time.Minute) == nil {
			t.Fatalf("%q verifies under two keys", header)
		}
	})
}

// Through the hub, with a real store: a receiver that fails (500), times
// out, refuses for good, then answers slowly gets every other message
// exactly in order, the slow answer shows in status, and nothing is lost.
func TestHubWithFailingReceiver(t *testing.T) {
	slow := func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(150 * time.Millisecond) // the slowness under test
		w.WriteHeader(200)
	}
	rc := &receiver{t: t, script: []func(http.ResponseWriter, *http.Request){status(500), hang, status(500), status(422), status(200), slow}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, err := New(Options{URL: srv.URL, Key: testKey, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := handoff.New(handoff.Options{Queue: st, Backoff: quick{}, SlowAfter: 100 * time.Millisecond},
		[]handoff.Output{{Name: "till", Kind: "webhook", Target: s.Target(), Sender: s}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var ids []string
	for range 3 {
		p := handoff.FromVerdict("door-a", handoff.InputCamera, verify.Verdict{Accept: true, At: time.Now(), Holder: "bb1x"})
		ids = append(ids, p.ID)
		h.Hand(p)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(rc.delivered()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // polling the receiver
	}
	// 500, timeout, 500: the first is retried; 422 drops it; the second
	// goes at once, the third slowly.
	for q, _ := st.HandoffQueueOf("till"); q.Queued > 0 && time.Now().Before(deadline); q, _ = st.HandoffQueueOf("till") {
		time.Sleep(5 * time.Millisecond)
	}
	if got, want := fmt.Sprint(rc.delivered()), fmt.Sprint(ids[1:]); got != want {
		t.Fatalf("delivered %s, want %s", got, want)
	}
	if len(rc.bad) > 0 {
		t.Fatalf("bad requests: %v", rc.bad)
	}
	st0 := h.Status()[0]
	if st0.Delivered != 2 || st0.Refused != 1 || st0.Queued != 0 || st0.Failures != 0 || !st0.Slow {
		t.Fatalf("status %+v", st0)
	}
	if p := st0.Problem(time.Now()); !strings.Contains(p, "receiver slow") {
		t.Fatalf("problem %q", p)
	}
}

type quick struct{}

func (quick) Delay(int) time.Duration { return 10 * time.Millisecond }

// A hostile or broken receiver costs a bounded amount: an endless answer
// body is read 4 KiB far, a huge header is refused, a Retry-After of a year
// is capped by the hub, and none of it is fatal.
func TestHostileReceiver(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer http.HandlerFunc
		ok     bool
	}{
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			chunk := []byte(strings.Repeat("x", 32<<10))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, true},
		{"huge header", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Junk", strings.Repeat("j", 1<<20))
			w.WriteHeader(200)
		}, false},
		{"retry after a year", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "31536000")
			w.WriteHeader(429)
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.answer)
			defer srv.Close()
			s, err := New(Options{URL: srv.URL, Key: testKey, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = s.Send(context.Background(), msg("h"))
			if (err == nil) != c.ok {
				t.Fatalf("Send = %v, want ok %v", err, c.ok)
			}
		})
	}
	// The hub caps the receiver's wish at 10 minutes.
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	year := &yearSender{tried: make(chan struct{}, 1)}
	h, err := handoff.New(handoff.Options{Queue: st}, []handoff.Output{{Name: "till", Sender: year}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	h.Hand(handoff.Payload{Verdict: "accept"})
	<-year.tried
	deadline := time.Now().Add(10 * time.Second)
	for h.Status()[0].NextAttempt.IsZero() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // the failure is recorded just after Send returns
	}
	if next := time.Until(h.Status()[0].NextAttempt); next > 10*time.Minute+time.Second || next < 9*time.Minute {
		t.Fatalf("next attempt in %v, want the 10 minute cap", next)
	}
}

type yearSender struct{ tried chan struct{} }

func (y *yearSender) Send(context.Context, handoff.Message) error {
	select {
	case y.tried <- struct{}{}:
	default:
	}
	return handoff.RetryAfter(errors.New("429"), 365*24*time.Hour)
}
