package astest

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A device that presents an enrolled public key but signs with another key
// is refused: the fake really verifies the signature.
func TestForgedSignature(t *testing.T) {
	ctx := context.Background()
	srv := NewServer("tn", "sk")
	defer srv.Close()
	owner, err := srv.NewPhone("usr_owner")
	if err != nil {
		t.Fatal(err)
	}
	forger, err := NewPhone(srv.URL, "tn", "usr_owner")
	if err != nil {
		t.Fatal(err)
	}
	forger.Client = srv.Client()
	forger.publicKey = owner.publicKey

	kiosk := &Phone{BaseURL: srv.URL, TenantID: "tn", Client: srv.Client()}
	var created struct {
		ChallengeID string `json:"challengeId"`
	}
	if err := kiosk.post(ctx, EndpointCreate, map[string]any{"action": "kiosk-login"}, &created); err != nil {
		t.Fatal(err)
	}
	var se *StatusError
	if _, err := forger.Claim(ctx, created.ChallengeID); !errors.As(err, &se) || se.Status != 401 || !strings.Contains(se.Body, "invalid_signature") {
		t.Fatalf("forged claim: %v", err)
	}
	// The signature must be over this challenge id, not another.
	sig, _ := owner.sign("some-other-challenge")
	var out ClaimResult
	err = owner.post(ctx, EndpointClaim, map[string]any{"challengeId": created.ChallengeID, "publicKey": owner.publicKey, "signature": sig}, &out)
	if !errors.As(err, &se) || se.Status != 401 {
		t.Fatalf("signature over another id: %v", err)
	}
	if _, err := owner.Claim(ctx, created.ChallengeID); err != nil {
		t.Fatalf("genuine claim: %v", err)
	}
}

func TestUnknownFieldRejected(t *testing.T) {
	srv := NewServer("tn", "sk")
	defer srv.Close()
	kiosk := &Phone{BaseURL: srv.URL, TenantID: "tn", Client: srv.Client()}
	var out map[string]any
	err := kiosk.post(context.Background(), EndpointCreate, map[string]any{"actionCode": "kiosk-login"}, &out)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 400 {
		t.Fatalf("misnamed field: %v", err)
	}
}
