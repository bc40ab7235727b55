package authsignal_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/display/authsignal"
)

// bodyTransport answers every request with one status and body, whatever
// was asked.
type bodyTransport struct {
	status int
	body   []byte
}

func (t bodyTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: t.status, Header: http.Header{"Content-Type": {"text/plain"}},
		Body: io.NopCloser(bytes.NewReader(t.body))}, nil
}

// FuzzResponses feeds arbitrary answers to every call: no panic, no secret
// or token in any error, and nothing accepted that is not a success for the
// configured action.
func FuzzResponses(f *testing.F) {
	f.Add(200, []byte(`{"challengeId":"c","deviceCode":"d","expiresAt":"2026-09-01T10:10:00.000Z"}`))
	f.Add(200, []byte(`{"isClaimed":true,"isConsumed":true,"isVerified":true,"accessToken":"tok_RAW"}`))
	f.Add(200, []byte(`{"isValid":true,"state":"CHALLENGE_SUCCEEDED","userId":"u","action":"kiosk-login","idempotencyKey":"k"}`))
	f.Add(200, []byte(`{"isValid":true,"state":"CHALLENGE_SUCCEEDED","userId":"u","actionCode":"pay","idempotencyKey":"k"}`))
	f.Add(401, []byte(`{"error":"unauthorized","errorDescription":"sk_SECRET tok_RAW"}`))
	f.Add(200, []byte(`{"isClaimed": tru`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		c, err := authsignal.New(authsignal.Config{BaseURL: "https://api.authsignal.com/v1", TenantID: "tn", SecretKey: "sk_SECRET",
			Action: "kiosk-login", HTTPClient: &http.Client{Transport: bodyTransport{status, body}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ch, errC := c.CreateChallenge(ctx, nil)
		_, errP := c.Poll(ctx, ch)
		a, errV := c.Validate(ctx, authsignal.NewToken("tok_RAW"))
		for _, err := range []error{errC, errP, errV} {
			if err != nil && strings.Contains(err.Error(), "sk_SECRET") {
				t.Fatalf("secret key in %q", err)
			}
		}
		// Only Validate sends the token, so only its errors could echo it.
		if errV != nil && strings.Contains(errV.Error(), "tok_RAW") {
			t.Fatalf("token in %q", errV)
		}
		if errV == nil && (a.Action != "kiosk-login" || a.UserID == "" || a.IdempotencyKey == "" || status/100 != 2) {
			t.Fatalf("accepted %+v from %d %q", a, status, body)
		}
	})
}
