package authsignal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/display/authsignal"
)

// The device code authenticates the polls of a challenge: whoever holds it
// can collect the approval's token. A poll refused by a server that quotes
// the request back must not put it in the error.
func TestPollErrorHidesTheDeviceCode(t *testing.T) {
	const device = "dc_Pr1vate-device-code"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/client/challenge/qr-code") {
			json.NewEncoder(w).Encode(map[string]string{"challengeId": "ch_1", "deviceCode": device})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "errorDescription": "bad body: " + string(body)})
	}))
	defer srv.Close()
	c, err := authsignal.New(authsignal.Config{BaseURL: srv.URL, TenantID: "tn_1", SecretKey: "sk_1", Action: "kiosk-login"})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.CreateChallenge(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Poll(context.Background(), ch)
	if err == nil {
		t.Fatal("poll succeeded")
	}
	if strings.Contains(err.Error(), "Pr1vate") {
		t.Errorf("poll error %q carries the device code", err)
	}
}
