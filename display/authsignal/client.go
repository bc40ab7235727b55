package authsignal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kioskd/kioskd/internal/apierr"
)

// ChallengeLifetime is how long Authsignal keeps a QR challenge (and its
// token) valid.
const ChallengeLifetime = 10 * time.Minute

// maxBody bounds every response read: the largest legitimate answer is a few
// hundred bytes.
const maxBody = 64 << 10

// Config configures a Client.
type Config struct {
	// BaseURL is the region's REST base, e.g. https://api.authsignal.com/v1.
	BaseURL string
	// TenantID is the public tenant id (client API credential).
	TenantID string
	// SecretKey is the server API secret (for Validate only).
	SecretKey string
	// Action is the action code the challenges are created for and that an
	// approval must carry, e.g. "kiosk-login".
	Action string
	// Timeout bounds each request; default 8 s.
	Timeout time.Duration
	// HTTPClient defaults to a fresh client with no overall timeout (Timeout
	// applies per request through the context).
	HTTPClient *http.Client
	// Ledger remembers used idempotency keys; default NewMemoryLedger(0).
	Ledger Ledger
	// Now is the wall clock, for expiresAt; default time.Now.
	Now func() time.Time
}

// Client calls Authsignal. It is safe for concurrent use.
type Client struct {
	base    string
	tenant  string
	secret  string
	action  string
	timeout time.Duration
	hc      *http.Client
	ledger  Ledger
	now     func() time.Time
	ua      string
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("authsignal: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.TenantID == "" {
		return nil, errors.New("authsignal: no tenant id")
	}
	if cfg.Action == "" {
		return nil, errors.New("authsignal: no action")
	}
	c := &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		tenant:  cfg.TenantID,
		secret:  cfg.SecretKey,
		action:  cfg.Action,
		timeout: cfg.Timeout,
		hc:      cfg.HTTPClient,
		ledger:  cfg.Ledger,
		now:     cfg.Now,
		ua:      "kioskd-display",
	}
	if c.timeout <= 0 {
		c.timeout = 8 * time.Second
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.ledger == nil {
		c.ledger = NewMemoryLedger(0)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Action is the action code this client creates and accepts.
func (c *Client) Action() string { return c.action }

// Challenge is one anonymous QR challenge.
type Challenge struct {
	// ID is the text to show as a QR code.
	ID string
	// ExpiresAt is the server's expiry, or creation + ChallengeLifetime when
	// the server did not say (the field is optional).
	ExpiresAt time.Time
	// deviceCode authenticates the polls; kept unexported so it is never
	// printed by accident.
	deviceCode string
}

// CreateChallenge creates an anonymous QR challenge for the client's action.
// custom (optional) is shown to the user on the phone.
func (c *Client) CreateChallenge(ctx context.Context, custom map[string]string) (Challenge, error) {
	req := struct {
		Action string            `json:"action"`
		Custom map[string]string `json:"custom,omitempty"`
	}{c.action, custom}
	var resp struct {
		ChallengeID string `json:"challengeId"`
		DeviceCode  string `json:"deviceCode"`
		ExpiresAt   string `json:"expiresAt"`
	}
	if err := c.do(ctx, "/client/challenge/qr-code", c.tenant, req, &resp); err != nil {
		return Challenge{}, fmt.Errorf("authsignal: creating QR challenge: %w", err)
	}
	if resp.ChallengeID == "" || resp.DeviceCode == "" {
		return Challenge{}, fmt.Errorf("authsignal: creating QR challenge: %w: no challengeId or deviceCode", errMalformed)
	}
	ch := Challenge{ID: resp.ChallengeID, deviceCode: resp.DeviceCode}
	// Lenient: an absent or unreadable expiresAt means the documented lifetime.
	if t, err := time.Parse(time.RFC3339Nano, resp.ExpiresAt); err == nil {
		ch.ExpiresAt = t
	} else {
		ch.ExpiresAt = c.now().Add(ChallengeLifetime)
	}
	return ch, nil
}

// State is where a QR challenge stands.
type State uint8

const (
	Unclaimed State = iota // shown, nobody scanned it yet
	Claimed                // a phone scanned it; the user is deciding
	Rejected               // the user declined
	Approved               // the user approved; Status.Token is set
)

func (s State) String() string {
	switch s {
	case Unclaimed:
		return "unclaimed"
	case Claimed:
		return "claimed"
	case Rejected:
		return "rejected"
	case Approved:
		return "approved"
	}
	return "invalid"
}

// StateOf maps the verify endpoint's three flags to a State: isVerified wins,
// then isConsumed (a decision without verification is a decline), then
// isClaimed.
func StateOf(isClaimed, isConsumed, isVerified bool) State {
	switch {
	case isVerified:
		return Approved
	case isConsumed:
		return Rejected
	case isClaimed:
		return Claimed
	}
	return Unclaimed
}

// Token is an access token. It prints as "[redacted]" in every format so it
// cannot leak into a log or an error.
type Token struct{ v string }

// NewToken wraps a raw token (for tests and fakes).
func NewToken(raw string) Token { return Token{raw} }

func (t Token) String() string   { return "[redacted]" }
func (t Token) GoString() string { return "authsignal.Token{[redacted]}" }

// MarshalJSON keeps a token out of any JSON a caller might log.
func (t Token) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.v == "" }

// Status is one poll's answer.
type Status struct {
	State State
	Token Token // set when State == Approved
}

// Poll asks for the challenge's state once.
func (c *Client) Poll(ctx context.Context, ch Challenge) (Status, error) {
	req := struct {
		ChallengeID string `json:"challengeId"`
		DeviceCode  string `json:"deviceCode"`
	}{ch.ID, ch.deviceCode}
	var resp struct {
		IsClaimed   bool   `json:"isClaimed"`
		IsConsumed  bool   `json:"isConsumed"`
		IsVerified  bool   `json:"isVerified"`
		AccessToken string `json:"accessToken"`
	}
	err := c.do(ctx, "/client/verify/qr-code", c.tenant, req, &resp, ch.deviceCode)
	if err != nil {
		var ae *APIError
		// Any other 4xx on a challenge we created: it expired or was dropped.
		if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != 401 && ae.Status != 429 {
			err = fmt.Errorf("%w (%w)", ErrChallengeGone, err)
		}
		return Status{}, fmt.Errorf("authsignal: polling QR challenge: %w", err)
	}
	st := Status{State: StateOf(resp.IsClaimed, resp.IsConsumed, resp.IsVerified)}
	if st.State == Approved {
		if resp.AccessToken == "" {
			return Status{}, fmt.Errorf("authsignal: polling QR challenge: %w: verified without accessToken", errMalformed)
		}
		st.Token = Token{resp.AccessToken}
	}
	return st, nil
}

// Approval is a validated approval: who was let in.
type Approval struct {
	UserID             string
	Action             string
	IdempotencyKey     string
	VerificationMethod string
	StateUpdatedAt     time.Time
}

// Validate checks tok with the server API and returns the approval only when
// state is CHALLENGE_SUCCEEDED, the action is the client's, and the
// idempotency key is new to the Ledger. A refusal wraps ErrRefused.
func (c *Client) Validate(ctx context.Context, tok Token) (Approval, error) {
	if c.secret == "" {
		return Approval{}, errors.New("authsignal: validating token: no secret key configured")
	}
	if tok.IsZero() {
		return Approval{}, fmt.Errorf("authsignal: validating token: %w: empty token", ErrRefused)
	}
	req := struct {
		Token  string `json:"token"`
		Action string `json:"action"`
	}{tok.v, c.action}
	var resp struct {
		IsValid            *bool  `json:"isValid"`
		State              string `json:"state"`
		StateUpdatedAt     string `json:"stateUpdatedAt"`
		UserID             string `json:"userId"`
		Action             string `json:"action"`
		ActionCode         string `json:"actionCode"` // deprecated name of action
		IdempotencyKey     string `json:"idempotencyKey"`
		VerificationMethod string `json:"verificationMethod"`
	}
	if err := c.do(ctx, "/validate", c.secret, req, &resp, tok.v); err != nil {
		var ae *APIError
		// A 4xx other than 401/429 is the server rejecting this token
		// (expired_token, invalid token): a refusal, not an outage.
		if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != 401 && ae.Status != 429 {
			err = fmt.Errorf("%w: %w", ErrRefused, err)
		}
		return Approval{}, fmt.Errorf("authsignal: validating token: %w", err)
	}
	action := resp.Action
	if action == "" {
		action = resp.ActionCode
	}
	refuse := func(why error, detail string) (Approval, error) {
		return Approval{}, fmt.Errorf("authsignal: validating token: %w: %w%s", ErrRefused, why, detail)
	}
	if resp.State != "CHALLENGE_SUCCEEDED" {
		return refuse(ErrNotSucceeded, fmt.Sprintf(" (state %q)", apierr.Clean(resp.State, 40, tok.v, c.secret)))
	}
	if resp.IsValid != nil && !*resp.IsValid {
		return refuse(ErrNotSucceeded, " (isValid false)")
	}
	if action != c.action {
		return refuse(ErrWrongAction, fmt.Sprintf(" (%q, want %q)", apierr.Clean(action, 64, tok.v, c.secret), c.action))
	}
	if resp.UserID == "" {
		return refuse(ErrNotSucceeded, " (no userId)")
	}
	if resp.IdempotencyKey == "" {
		return refuse(ErrNoIdempotencyKey, "")
	}
	fresh, err := c.ledger.Use(ctx, resp.IdempotencyKey)
	if err != nil {
		return Approval{}, fmt.Errorf("authsignal: validating token: recording idempotency key: %w", err)
	}
	if !fresh {
		return refuse(ErrReplay, "")
	}
	a := Approval{
		UserID:             resp.UserID,
		Action:             action,
		IdempotencyKey:     resp.IdempotencyKey,
		VerificationMethod: resp.VerificationMethod,
	}
	if t, err := time.Parse(time.RFC3339Nano, resp.StateUpdatedAt); err == nil {
		a.StateUpdatedAt = t
	}
	return a, nil
}

// do POSTs body as JSON to path with Basic auth user:"" and decodes a 2xx
// answer into out. extraSecrets are scrubbed from error text along with the
// secret key.
func (c *Client) do(ctx context.Context, path, user string, body, out any, extraSecrets ...string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	payload, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.SetBasicAuth(user, "")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error carries the URL (no credentials in it: they are in a
		// header) and the cause; keep the cause only, shorter.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("POST %s: reading response: %w: %w", path, errMalformed, err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("POST %s: %w: response over %d bytes", path, errMalformed, maxBody)
	}
	secrets := append([]string{c.secret}, extraSecrets...)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST %s: %w", path, parseError(resp.StatusCode, data, secrets...))
	}
	// Content-Type is not trusted: Authsignal sometimes labels JSON text/plain.
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("POST %s: %w: %s", path, errMalformed, apierr.Clean(jsonErr(err), 120, secrets...))
	}
	return nil
}

// jsonErr describes a JSON error without quoting the body.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "invalid JSON"
}
