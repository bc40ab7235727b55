package display

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/display/authsignal"
	"github.com/kioskd/kioskd/display/authsignal/astest"
)

const (
	tenant = "tn_test"
	secret = "sk_test_SECRET"
	action = "kiosk-login"
)

// recSink records what reached the door.
type recSink struct {
	mu       sync.Mutex
	approved []string
	rejected []Reason
	// refuse, when set, is Approved's error: the door stayed shut.
	refuse error
}

func (s *recSink) Approved(_ context.Context, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approved = append(s.approved, user)
	return s.refuse
}

func (s *recSink) Rejected(_ context.Context, r Reason) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected = append(s.rejected, r)
	return nil
}

func (s *recSink) get() ([]string, []Reason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.approved), slices.Clone(s.rejected)
}

type rig struct {
	t      *testing.T
	srv    *astest.Server
	ctrl   *Controller
	sink   *recSink
	ledger *authsignal.MemoryLedger

	mu     sync.Mutex
	states []State
}

type rigOpts struct {
	tenant  string
	refresh time.Duration
	hold    time.Duration
	before  func(*astest.Server) // runs before the controller starts
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	srv := astest.NewServer(tenant, secret)
	t.Cleanup(srv.Close)
	if o.before != nil {
		o.before(srv)
	}
	if o.tenant == "" {
		o.tenant = tenant
	}
	if o.hold == 0 {
		o.hold = 100 * time.Millisecond
	}
	r := &rig{t: t, srv: srv, sink: &recSink{}, ledger: authsignal.NewMemoryLedger(16)}
	client, err := authsignal.New(authsignal.Config{BaseURL: srv.URL, TenantID: o.tenant, SecretKey: secret,
		Action: action, HTTPClient: srv.Client(), Timeout: time.Second, Ledger: r.ledger})
	if err != nil {
		t.Fatal(err)
	}
	r.ctrl, err = New(Options{Client: client, Sink: r.sink, Custom: map[string]string{"terminal": "door-3"},
		PollInterval: 20 * time.Millisecond, Refresh: o.refresh, Hold: o.hold,
		OfflineAfter: 2, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.ctrl.board.onSet = func(s Screen) {
		r.mu.Lock()
		r.states = append(r.states, s.State)
		r.mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not stop")
		}
	})
	return r
}

// wait blocks until the screen is in state want (and, for Scan, showing a
// challenge other than notID), or fails after a generous deadline.
func (r *rig) wait(want State, notID string) Screen {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s, changed := r.ctrl.board.get()
		if s.State == want && (want != Scan || r.srv.Latest() != notID) {
			return s
		}
		select {
		case <-changed:
		case <-time.After(20 * time.Millisecond): // the fake's Latest moves without a screen change
		case <-deadline:
			r.t.Fatalf("screen stuck at %v, want %v; sequence %v", s.State, want, r.seq())
		}
	}
}

func (r *rig) seq() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Compact(slices.Clone(r.states))
}

func (r *rig) phone(user string) *astest.Phone {
	p, err := r.srv.NewPhone(user)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func TestControllerApproved(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOpts{})
	r.wait(Scan, "")
	id := r.srv.Latest()
	phone := r.phone("usr_alice")
	claim, err := phone.Claim(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if claim.Custom["terminal"] != "door-3" || claim.ActionCode != action {
		t.Fatalf("the phone sees %+v", claim)
	}
	if s := r.wait(CheckPhone, ""); s.svg != "" {
		t.Fatal("QR still shown after the claim")
	}
	if err := phone.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(Welcome, "")
	r.wait(Scan, id) // a fresh challenge after the hold
	approved, rejected := r.sink.get()
	if !slices.Equal(approved, []string{"usr_alice"}) || len(rejected) != 0 {
		t.Fatalf("sink: approved %v rejected %v", approved, rejected)
	}
	want := []State{Scan, CheckPhone, Welcome, Scan}
	if got := r.seq(); !slices.Equal(got[:4], want) {
		t.Fatalf("sequence %v, want %v…", got, want)
	}
}

// TestControllerSinkRefusesApproval: when the sink could not let a validated
// user in (kioskd could not record the entry), the screen says declined, never
// welcome, and a fresh challenge follows.
func TestControllerSinkRefusesApproval(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOpts{})
	r.sink.mu.Lock()
	r.sink.refuse = errors.New("recording: file too large")
	r.sink.mu.Unlock()
	r.wait(Scan, "")
	id := r.srv.Latest()
	phone := r.phone("usr_alice")
	if _, err := phone.Claim(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(CheckPhone, "")
	if err := phone.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(Declined, "")
	r.wait(Scan, id)
	if got := r.seq(); slices.Contains(got, Welcome) {
		t.Fatalf("sequence %v shows welcome at a door that stayed shut", got)
	}
	if approved, _ := r.sink.get(); !slices.Equal(approved, []string{"usr_alice"}) {
		t.Fatalf("sink: approved %v", approved)
	}
}

func TestControllerDeclined(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOpts{})
	r.wait(Scan, "")
	id := r.srv.Latest()
	phone := r.phone("usr_bob")
	if _, err := phone.Claim(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(CheckPhone, "")
	if err := phone.Decline(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(Declined, "")
	r.wait(Scan, id)
	approved, rejected := r.sink.get()
	if len(approved) != 0 || !slices.Equal(rejected, []Reason{ReasonDeclined}) {
		t.Fatalf("sink: approved %v rejected %v", approved, rejected)
	}
	if got, want := r.seq()[:4], []State{Scan, CheckPhone, Declined, Scan}; !slices.Equal(got, want) {
		t.Fatalf("sequence %v, want %v", got, want)
	}
}

// The approval's idempotency key was already used (e.g. recorded by the
// store): refused as a replay, the door stays shut.
func TestControllerReplay(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOpts{})
	r.wait(Scan, "")
	id := r.srv.Latest()
	phone := r.phone("usr_eve")
	claim, err := phone.Claim(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r.ledger.Use(ctx, claim.IdempotencyKey)
	if err := phone.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(Declined, "")
	approved, rejected := r.sink.get()
	if len(approved) != 0 || !slices.Equal(rejected, []Reason{ReasonReplay}) {
		t.Fatalf("sink: approved %v rejected %v", approved, rejected)
	}
}

func TestControllerRefresh(t *testing.T) {
	r := newRig(t, rigOpts{refresh: 150 * time.Millisecond})
	r.wait(Scan, "")
	first := r.srv.Latest()
	r.wait(Scan, first)
	if n := len(r.srv.Created()); n < 2 {
		t.Fatalf("%d challenges", n)
	}
}

// The server's expiresAt (here 400 ms) wins over a longer Refresh.
func TestControllerHonoursExpiresAt(t *testing.T) {
	r := newRig(t, rigOpts{refresh: time.Hour, before: func(s *astest.Server) { s.SetLifetime(400 * time.Millisecond) }})
	r.wait(Scan, "")
	first := r.srv.Latest()
	r.wait(Scan, first)
	for _, st := range r.seq() {
		if st == Unavailable {
			t.Fatalf("an expired challenge was polled: %v", r.seq())
		}
	}
}

// A claimed challenge is not swapped at the refresh time: the user is
// deciding on their phone.
func TestControllerClaimedNotRefreshed(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOpts{refresh: 100 * time.Millisecond})
	r.wait(Scan, "")
	id := r.srv.Latest()
	phone := r.phone("usr_slow")
	if _, err := phone.Claim(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(CheckPhone, "")
	time.Sleep(300 * time.Millisecond) // past the refresh time
	if r.srv.Latest() != id {
		t.Fatal("a claimed challenge was replaced")
	}
	if err := phone.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(Welcome, "")
}

func TestControllerOfflineAndBack(t *testing.T) {
	for _, f := range []astest.Fault{astest.Hangup, astest.ServerError, astest.Slow, astest.Malformed} {
		t.Run(f.String(), func(t *testing.T) {
			r := newRig(t, rigOpts{before: func(s *astest.Server) { s.SetFault("", f) }})
			r.wait(Unavailable, "")
			r.srv.SetFault("", astest.NoFault)
			r.wait(Scan, "")
			id := r.srv.Latest()
			// Mid-challenge outage of the poll: unavailable, then the same
			// challenge again once the API answers.
			r.srv.SetFault(astest.EndpointVerify, f)
			r.wait(Unavailable, "")
			r.srv.SetFault("", astest.NoFault)
			r.wait(Scan, "")
			if r.srv.Latest() != id {
				t.Fatal("a live challenge was replaced after a short outage")
			}
		})
	}
}

func TestControllerUnauthorized(t *testing.T) {
	r := newRig(t, rigOpts{tenant: "tn_wrong"})
	r.wait(Unavailable, "")
	if len(r.srv.Created()) != 0 {
		t.Fatal("created with a wrong tenant")
	}
}

// The approval cannot be validated (server API down): no entry, the screen
// says unavailable, and it recovers.
func TestControllerValidateDown(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOpts{before: func(s *astest.Server) { s.SetFault(astest.EndpointValidate, astest.ServerError) }})
	r.wait(Scan, "")
	id := r.srv.Latest()
	phone := r.phone("usr_dan")
	phone.Claim(ctx, id)
	if err := phone.Approve(ctx, id); err != nil {
		t.Fatal(err)
	}
	r.wait(Unavailable, "")
	r.srv.SetFault("", astest.NoFault)
	r.wait(Scan, id)
	approved, rejected := r.sink.get()
	if len(approved) != 0 || !slices.Equal(rejected, []Reason{ReasonError}) {
		t.Fatalf("sink: approved %v rejected %v", approved, rejected)
	}
}

func TestRunTwice(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.wait(Scan, "") // the rig's Run is running
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.ctrl.Run(ctx); err == nil {
		t.Fatal("second Run accepted")
	}
}

func TestNewChecks(t *testing.T) {
	c, _ := authsignal.New(authsignal.Config{BaseURL: "http://127.0.0.1:1/v1", TenantID: "t", Action: "a"})
	if _, err := New(Options{Client: c}); err == nil {
		t.Error("no sink accepted")
	}
	if _, err := New(Options{Sink: &recSink{}}); err == nil {
		t.Error("no client accepted")
	}
}

func TestBackoff(t *testing.T) {
	for n := 1; n < 30; n++ {
		d := backoff(time.Second, 30*time.Second, n, nil)
		want := min(time.Second<<(n-1), 30*time.Second)
		if n >= 20 {
			want = 30 * time.Second
		}
		if d < want*8/10 || d > want*12/10 {
			t.Errorf("backoff(%d) = %v, want about %v", n, d, want)
		}
	}
	if d := backoff(time.Second, 30*time.Second, 1, authsignal.ErrUnauthorized); d < 24*time.Second {
		t.Errorf("401 backoff %v", d)
	}
}

func TestStateNames(t *testing.T) {
	seen := map[string]bool{}
	for s := Starting; s <= Unavailable; s++ {
		n := s.String()
		if n == "invalid" || seen[n] || s.Title() == "" || s.Detail() == "" {
			t.Errorf("state %d: %q %q %q", s, n, s.Title(), s.Detail())
		}
		seen[n] = true
	}
	if got := fmt.Sprint(Unavailable.Title(), " ", Unavailable.Detail()); !strings.Contains(got, "unavailable Scan your BitBadges code instead") {
		t.Errorf("offline text %q", got)
	}
}
