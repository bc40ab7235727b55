package astest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Phone is a user's phone with an enrolled Authsignal device credential: a
// P-256 key whose public half the server knows. It claims, approves and
// declines QR challenges the way the mobile SDK does.
type Phone struct {
	UserID   string
	BaseURL  string
	TenantID string
	Client   *http.Client

	key       *ecdsa.PrivateKey
	publicKey string // base64 DER SPKI
}

// NewPhone generates a device key for userID and enrolls it with the fake.
func (s *Server) NewPhone(userID string) (*Phone, error) {
	p, err := NewPhone(s.URL, s.TenantID, userID)
	if err != nil {
		return nil, err
	}
	p.Client = s.Client()
	s.Enroll(p.publicKey, userID)
	return p, nil
}

// NewPhone generates a device key for a phone talking to baseURL. It is not
// enrolled anywhere: see Server.NewPhone or Server.Enroll.
func NewPhone(baseURL, tenantID, userID string) (*Phone, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("astest: generating device key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("astest: encoding device key: %w", err)
	}
	return &Phone{UserID: userID, BaseURL: strings.TrimRight(baseURL, "/"), TenantID: tenantID,
		Client: http.DefaultClient, key: key, publicKey: base64.StdEncoding.EncodeToString(der)}, nil
}

// PublicKey is the device's public key as the API carries it (base64 DER SPKI).
func (p *Phone) PublicKey() string { return p.publicKey }

// ClaimResult is the claim endpoint's answer: what the phone shows the user.
type ClaimResult struct {
	Success        bool              `json:"success"`
	IPAddress      string            `json:"ipAddress"`
	UserAgent      string            `json:"userAgent"`
	ActionCode     string            `json:"actionCode"`
	IdempotencyKey string            `json:"idempotencyKey"`
	Custom         map[string]string `json:"custom"`
}

// StatusError is a non-2xx answer to the phone.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// Claim tells the server this phone scanned challengeID.
func (p *Phone) Claim(ctx context.Context, challengeID string) (ClaimResult, error) {
	sig, err := p.sign(challengeID)
	if err != nil {
		return ClaimResult{}, err
	}
	var out ClaimResult
	err = p.post(ctx, EndpointClaim, map[string]any{
		"challengeId": challengeID, "publicKey": p.publicKey, "signature": sig,
	}, &out)
	return out, err
}

// Approve approves a challenge this phone claimed.
func (p *Phone) Approve(ctx context.Context, challengeID string) error {
	return p.decide(ctx, challengeID, true)
}

// Decline declines a challenge this phone claimed.
func (p *Phone) Decline(ctx context.Context, challengeID string) error {
	return p.decide(ctx, challengeID, false)
}

func (p *Phone) decide(ctx context.Context, challengeID string, approved bool) error {
	sig, err := p.sign(challengeID)
	if err != nil {
		return err
	}
	var out struct {
		IsVerified bool `json:"isVerified"`
	}
	if err := p.post(ctx, EndpointDecide, map[string]any{
		"challengeId": challengeID, "publicKey": p.publicKey, "signature": sig,
		"approved": approved, "verificationCode": nil,
	}, &out); err != nil {
		return err
	}
	if out.IsVerified != approved {
		return fmt.Errorf("astest: decide: isVerified %v after approved=%v", out.IsVerified, approved)
	}
	return nil
}

// sign is the SDK's signature: ECDSA-SHA256 over the UTF-8 challenge id, DER.
func (p *Phone) sign(challengeID string) (string, error) {
	sum := sha256.Sum256([]byte(challengeID))
	sig, err := ecdsa.SignASN1(rand.Reader, p.key, sum[:])
	if err != nil {
		return "", fmt.Errorf("astest: signing: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func (p *Phone) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.SetBasicAuth(p.TenantID, "")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "astest-phone")
	resp, err := p.Client.Do(req)
	if err != nil {
		return fmt.Errorf("astest: phone POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("astest: phone POST %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(string(data))}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("astest: phone POST %s: %w", path, err)
	}
	return nil
}
