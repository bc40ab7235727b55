package authsignal_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/display/authsignal"
	"github.com/kioskd/kioskd/display/authsignal/astest"
)

const (
	tenant = "tn_4c1f0e"
	secret = "sk_live_SUPERSECRET_do_not_log"
	action = "kiosk-login"
)

func newPair(t *testing.T, mod func(*authsignal.Config)) (*astest.Server, *authsignal.Client) {
	t.Helper()
	srv := astest.NewServer(tenant, secret)
	t.Cleanup(srv.Close)
	cfg := authsignal.Config{BaseURL: srv.URL, TenantID: tenant, SecretKey: secret, Action: action,
		HTTPClient: srv.Client(), Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := authsignal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func newPhone(t *testing.T, srv *astest.Server, user string) *astest.Phone {
	t.Helper()
	p, err := srv.NewPhone(user)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPoll(t *testing.T, c *authsignal.Client, ch authsignal.Challenge, want authsignal.State) authsignal.Status {
	t.Helper()
	st, err := c.Poll(context.Background(), ch)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if st.State != want {
		t.Fatalf("state %v, want %v", st.State, want)
	}
	return st
}

// noSecrets fails when an error's text carries the secret key or a token.
func noSecrets(t *testing.T, err error, extra ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append([]string{secret}, extra...) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error leaks a secret: %v", err)
		}
	}
}

func TestApproveFlow(t *testing.T) {
	ctx := context.Background()
	srv, c := newPair(t, nil)
	ch, err := c.CreateChallenge(ctx, map[string]string{"terminal": "door-3"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID == "" || ch.ExpiresAt.Sub(srv.Now()) > authsignal.ChallengeLifetime || ch.ExpiresAt.Before(srv.Now()) {
		t.Fatalf("challenge %+v", ch)
	}
	mustPoll(t, c, ch, authsignal.Unclaimed)
	phone := newPhone(t, srv, "usr_alice")
	claim, err := phone.Claim(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !claim.Success || claim.ActionCode != action || claim.Custom["terminal"] != "door-3" {
		t.Fatalf("claim %+v", claim)
	}
	mustPoll(t, c, ch, authsignal.Claimed)
	if err := phone.Approve(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	st := mustPoll(t, c, ch, authsignal.Approved)
	if st.Token.IsZero() {
		t.Fatal("approved without token")
	}
	a, err := c.Validate(ctx, st.Token)
	if err != nil {
		t.Fatal(err)
	}
	if a.UserID != "usr_alice" || a.Action != action || a.IdempotencyKey != claim.IdempotencyKey || a.VerificationMethod != "DEVICE" {
		t.Fatalf("approval %+v", a)
	}

	// Replay: the same token (same idempotency key) a second time.
	_, err = c.Validate(ctx, st.Token)
	if !errors.Is(err, authsignal.ErrReplay) || !errors.Is(err, authsignal.ErrRefused) {
		t.Fatalf("replay: %v", err)
	}
	if srv.Validations() != 2 {
		t.Fatalf("fake saw %d validations", srv.Validations())
	}
}

func TestDecline(t *testing.T) {
	ctx := context.Background()
	srv, c := newPair(t, nil)
	ch, err := c.CreateChallenge(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	phone := newPhone(t, srv, "usr_bob")
	if _, err := phone.Claim(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if err := phone.Decline(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	st := mustPoll(t, c, ch, authsignal.Rejected)
	if !st.Token.IsZero() {
		t.Fatal("token on a rejection")
	}
	// A decision is final: neither a new claim nor another decision.
	var se *astest.StatusError
	if _, err := phone.Claim(ctx, ch.ID); !errors.As(err, &se) || se.Status/100 != 4 {
		t.Fatalf("claim after decision: %v", err)
	}
	if err := phone.Approve(ctx, ch.ID); !errors.As(err, &se) || se.Status/100 != 4 {
		t.Fatalf("approve after decline: %v", err)
	}
}

func TestPhoneRules(t *testing.T) {
	ctx := context.Background()
	srv, c := newPair(t, nil)
	ch, err := c.CreateChallenge(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice, mallory := newPhone(t, srv, "usr_alice"), newPhone(t, srv, "usr_mallory")
	stranger, err := astest.NewPhone(srv.URL, tenant, "usr_nobody") // not enrolled
	if err != nil {
		t.Fatal(err)
	}
	stranger.Client = srv.Client()
	var se *astest.StatusError
	if _, err := stranger.Claim(ctx, ch.ID); !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Body, "invalid_credential") {
		t.Fatalf("unenrolled claim: %v", err)
	}
	if _, err := alice.Claim(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := mallory.Claim(ctx, ch.ID); !errors.As(err, &se) || se.Status != 409 {
		t.Fatalf("second claim: %v", err)
	}
	if err := mallory.Approve(ctx, ch.ID); !errors.As(err, &se) || se.Status != 409 {
		t.Fatalf("approve by a device that did not claim: %v", err)
	}
	mustPoll(t, c, ch, authsignal.Claimed)
}

func TestExpiryAndRefresh(t *testing.T) {
	ctx := context.Background()
	srv, c := newPair(t, func(cfg *authsignal.Config) {})
	ch, err := c.CreateChallenge(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Advance(9 * time.Minute)
	mustPoll(t, c, ch, authsignal.Unclaimed) // still alive at 9 min
	srv.Advance(time.Minute + time.Second)
	_, err = c.Poll(ctx, ch)
	if !errors.Is(err, authsignal.ErrChallengeGone) || authsignal.Temporary(err) {
		t.Fatalf("poll after expiry: %v", err)
	}
	phone := newPhone(t, srv, "usr_late")
	if _, err := phone.Claim(ctx, ch.ID); err == nil {
		t.Fatal("claimed an expired challenge")
	}
	// Refresh = a new challenge, which works.
	ch2, err := c.CreateChallenge(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ch2.ID == ch.ID {
		t.Fatal("same id after refresh")
	}
	mustPoll(t, c, ch2, authsignal.Unclaimed)

	// A token validated after its ten minutes is refused, not an outage.
	if _, err := phone.Claim(ctx, ch2.ID); err != nil {
		t.Fatal(err)
	}
	if err := phone.Approve(ctx, ch2.ID); err != nil {
		t.Fatal(err)
	}
	st := mustPoll(t, c, ch2, authsignal.Approved)
	srv.Advance(11 * time.Minute)
	_, err = c.Validate(ctx, st.Token)
	if !errors.Is(err, authsignal.ErrRefused) || authsignal.Temporary(err) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestExpiresAtAbsentOrOdd(t *testing.T) {
	for _, body := range []string{
		`{"challengeId":"c1","deviceCode":"d1"}`,
		`{"challengeId":"c1","deviceCode":"d1","expiresAt":"soon"}`,
		`{"challengeId":"c1","deviceCode":"d1","expiresAt":null}`,
	} {
		now := time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, body)
		}))
		c, _ := authsignal.New(authsignal.Config{BaseURL: ts.URL, TenantID: tenant, Action: action, Now: func() time.Time { return now }})
		ch, err := c.CreateChallenge(context.Background(), nil)
		ts.Close()
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if !ch.ExpiresAt.Equal(now.Add(10 * time.Minute)) {
			t.Errorf("%s: expiresAt %v", body, ch.ExpiresAt)
		}
	}
}

func TestUnauthorized(t *testing.T) {
	ctx := context.Background()
	srv, good := newPair(t, nil)
	bad, _ := authsignal.New(authsignal.Config{BaseURL: srv.URL, TenantID: "tn_wrong", SecretKey: "sk_wrong_key", Action: action, HTTPClient: srv.Client()})
	_, err := bad.CreateChallenge(ctx, nil)
	if !errors.Is(err, authsignal.ErrUnauthorized) || authsignal.Temporary(err) {
		t.Fatalf("create with a bad tenant: %v", err)
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "AUTHSIGNAL_TENANT_ID") {
		t.Fatalf("401 not clear: %v", err)
	}
	// Validate with a wrong secret.
	phone := newPhone(t, srv, "usr_c")
	ch, _ := good.CreateChallenge(ctx, nil)
	phone.Claim(ctx, ch.ID)
	phone.Approve(ctx, ch.ID)
	st := mustPoll(t, good, ch, authsignal.Approved)
	_, err = bad.Validate(ctx, st.Token)
	if !errors.Is(err, authsignal.ErrUnauthorized) {
		t.Fatalf("validate with a bad secret: %v", err)
	}
	noSecrets(t, err, "sk_wrong_key")
	// The good client can still use it: a 401 did not burn the key.
	if _, err := good.Validate(ctx, st.Token); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRefusals(t *testing.T) {
	ctx := context.Background()
	srv, c := newPair(t, nil)
	tests := []struct {
		name   string
		token  func() string
		legacy bool
		want   error // nil = accepted
	}{
		{"succeeded", func() string { return srv.MintToken("usr_1", action, "CHALLENGE_SUCCEEDED") }, false, nil},
		{"legacy actionCode", func() string { return srv.MintToken("usr_1", action, "CHALLENGE_SUCCEEDED") }, true, nil},
		{"failed", func() string { return srv.MintToken("usr_1", action, "CHALLENGE_FAILED") }, false, authsignal.ErrNotSucceeded},
		{"pending", func() string { return srv.MintToken("usr_1", action, "CHALLENGE_REQUIRED") }, false, authsignal.ErrNotSucceeded},
		{"other action", func() string { return srv.MintToken("usr_1", "pay", "CHALLENGE_SUCCEEDED") }, false, authsignal.ErrNotSucceeded},
		{"other action, legacy", func() string { return srv.MintToken("usr_1", "pay", "CHALLENGE_SUCCEEDED") }, true, authsignal.ErrNotSucceeded},
		{"unknown token", func() string { return "not-a-token" }, false, authsignal.ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.SetLegacyActionCode(tt.legacy)
			defer srv.SetLegacyActionCode(false)
			tok := tt.token()
			a, err := c.Validate(ctx, authsignal.NewToken(tok))
			noSecrets(t, err, tok)
			if tt.want == nil {
				if err != nil || a.UserID != "usr_1" || a.Action != action {
					t.Fatalf("got %+v, %v", a, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, authsignal.ErrRefused) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestWrongActionFromServer: a server that says isValid but for another
// action (it ignored ours) is still refused.
func TestWrongActionFromServer(t *testing.T) {
	for _, field := range []string{"action", "actionCode"} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"isValid":true,"state":"CHALLENGE_SUCCEEDED","userId":"u","%s":"pay","idempotencyKey":"k"}`, field)
		}))
		c, _ := authsignal.New(authsignal.Config{BaseURL: ts.URL, TenantID: tenant, SecretKey: secret, Action: action})
		_, err := c.Validate(context.Background(), authsignal.NewToken("t"))
		ts.Close()
		if !errors.Is(err, authsignal.ErrWrongAction) {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault astest.Fault
		gone  bool
	}{
		{astest.Slow, false},
		{astest.Malformed, false},
		{astest.Truncated, false},
		{astest.ServerError, false},
		{astest.RateLimited, false},
		{astest.Hangup, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.fault), func(t *testing.T) {
			ctx := context.Background()
			srv, c := newPair(t, func(cfg *authsignal.Config) { cfg.Timeout = 200 * time.Millisecond })
			ch, err := c.CreateChallenge(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			phone := newPhone(t, srv, "usr_f")
			phone.Claim(ctx, ch.ID)
			phone.Approve(ctx, ch.ID)
			st := mustPoll(t, c, ch, authsignal.Approved)

			srv.SetFault(astest.EndpointCreate, tt.fault)
			srv.SetFault(astest.EndpointVerify, tt.fault)
			srv.SetFault(astest.EndpointValidate, tt.fault)
			start := time.Now()
			_, errC := c.CreateChallenge(ctx, nil)
			_, errP := c.Poll(ctx, ch)
			_, errV := c.Validate(ctx, st.Token)
			for i, err := range []error{errC, errP, errV} {
				if err == nil || !authsignal.Temporary(err) {
					t.Errorf("call %d: %v, want a temporary error", i, err)
				}
				noSecrets(t, err)
			}
			// Slow: the client gave up at its timeout, not the fake's 30 s.
			if time.Since(start) > 10*time.Second {
				t.Errorf("calls took %v", time.Since(start))
			}
			// The fault gone, the same approval still validates: a failed
			// call did not burn the idempotency key.
			srv.SetFault("", astest.NoFault)
			if _, err := c.Validate(ctx, st.Token); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	srv, c := newPair(t, nil)
	srv.SetFault("", astest.Slow)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.CreateChallenge(ctx, nil)
	if !errors.Is(err, context.Canceled) || authsignal.Temporary(err) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestNewChecks(t *testing.T) {
	for _, cfg := range []authsignal.Config{
		{BaseURL: "", TenantID: tenant, Action: action},
		{BaseURL: "ftp://x", TenantID: tenant, Action: action},
		{BaseURL: "https://api.authsignal.com/v1", Action: action},
		{BaseURL: "https://api.authsignal.com/v1", TenantID: tenant},
	} {
		if _, err := authsignal.New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	c, _ := authsignal.New(authsignal.Config{BaseURL: "https://api.authsignal.com/v1", TenantID: tenant, Action: action})
	if _, err := c.Validate(context.Background(), authsignal.NewToken("t")); err == nil {
		t.Error("validated without a secret key")
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	st := authsignal.Status{State: authsignal.Approved, Token: authsignal.NewToken("raw-tok-123")}
	s := fmt.Sprintf("%v %+v %#v %s %q", st, st, st, st.Token, st.Token)
	if strings.Contains(s, "raw-tok-123") {
		t.Fatalf("token printed: %s", s)
	}
}

func TestStateOf(t *testing.T) {
	tests := []struct {
		claimed, consumed, verified bool
		want                        authsignal.State
	}{
		{false, false, false, authsignal.Unclaimed},
		{true, false, false, authsignal.Claimed},
		{true, true, false, authsignal.Rejected},
		{true, true, true, authsignal.Approved},
		{false, false, true, authsignal.Approved},
		{true, false, true, authsignal.Approved},
	}
	for _, tt := range tests {
		if got := authsignal.StateOf(tt.claimed, tt.consumed, tt.verified); got != tt.want {
			t.Errorf("StateOf(%v,%v,%v) = %v, want %v", tt.claimed, tt.consumed, tt.verified, got, tt.want)
		}
	}
}

func TestMemoryLedgerBound(t *testing.T) {
	l := authsignal.NewMemoryLedger(3)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if ok, _ := l.Use(ctx, k); !ok {
			t.Fatalf("%s not fresh", k)
		}
	}
	if ok, _ := l.Use(ctx, "a"); ok {
		t.Fatal("a fresh twice")
	}
	l.Use(ctx, "d") // evicts a
	if ok, _ := l.Use(ctx, "a"); !ok {
		t.Fatal("a still remembered past capacity")
	}
	if ok, _ := l.Use(ctx, "d"); ok {
		t.Fatal("d forgotten")
	}
}
