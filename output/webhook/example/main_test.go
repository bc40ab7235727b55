package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/output/webhook"
)

func TestReceiver(t *testing.T) {
	key := []byte("till key")
	now := time.Unix(1_800_000_000, 0)
	var out bytes.Buffer
	rc := newReceiver(key, &out)
	rc.now = func() time.Time { return now }
	body := `{"v":1,"id":"0123456789abcdef0123456789abcdef","kiosk":"door-a","input":"camera","time":"2027-01-15T08:00:00Z",` +
		`"verdict":"accept","reason":"ok","holder":{"bitbadges_address":"bb1alice","name":"Loyalty card"},"visit":{"count":7,"period":"2026-12","counted":true},"future":1}`
	post := func(sig, body string) int {
		req := httptest.NewRequest(http.MethodPost, "/kioskd", strings.NewReader(body))
		req.Header.Set(webhook.SignatureHeader, sig)
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		return w.Code
	}
	for _, c := range []struct {
		name string
		sig  string
		body string
		want int
	}{
		{"signed", webhook.Sign(key, now, []byte(body)), body, 204},
		{"repeat: acknowledged, not handled again", webhook.Sign(key, now.Add(time.Second), []byte(body)), body, 204},
		{"other key", webhook.Sign([]byte("x"), now, []byte(body)), body, 401},
		{"replayed an hour later", webhook.Sign(key, now.Add(-time.Hour), []byte(body)), body, 401},
		{"tampered", webhook.Sign(key, now, []byte(body)), strings.Replace(body, "accept", "reject", 1), 401},
		{"not a payload", webhook.Sign(key, now, []byte(`[]`)), `[]`, 400},
	} {
		if got := post(c.sig, c.body); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if got := strings.Count(out.String(), "\n"); got != 1 || !strings.Contains(out.String(), "ACCEPT at door-a: bb1alice (Loyalty card) (ok), visit 7 of 2026-12") {
		t.Fatalf("handled:\n%s", out.String())
	}
}
