package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/display/authsignal/astest"
	"github.com/kioskd/kioskd/status"
)

// TestDisplayModeDaemon runs `kioskd run` with the display mode against the
// Authsignal fake: the kiosk shows a challenge, a phone approves it, and the
// daemon lets the user in like a scan (green, relay, an event with the user
// id); a phone that declines gets a reject.
func TestDisplayModeDaemon(t *testing.T) {
	as := astest.NewServer("tn_test", "sk_test_secret")
	defer as.Close()
	e := newEnv(t, "")
	if err := os.WriteFile(filepath.Join(e.dir, "authsignal_secret"), []byte(as.SecretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(e.cfg)
	cfg = append(cfg, fmt.Sprintf(`display:
  enabled: true
  api_url: %s
  tenant_id: %s
  secret_key_file: authsignal_secret
  action: kiosk-login
  custom: {terminal: test-door}
  poll_interval: 200ms
`, as.URL, as.TenantID)...)
	os.WriteFile(e.cfg, cfg, 0o600)
	d := startDaemon(t, e)

	screen := func() string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/display/state.json", e.port))
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var s struct {
			State string `json:"state"`
		}
		json.NewDecoder(resp.Body).Decode(&s)
		return s.State
	}
	waitScreen := func(want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if screen() == want {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("display never showed %q (last %q)", want, screen())
	}
	waitScreen("scan")
	phone, err := as.NewPhone("usr_alice")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ch := as.Latest()
	if _, err := phone.Claim(ctx, ch); err != nil {
		t.Fatal(err)
	}
	waitScreen("check-phone")
	if err := phone.Approve(ctx, ch); err != nil {
		t.Fatal(err)
	}
	waitScreen("welcome")
	d.waitFor("display approval shown in status", 10*time.Second, func(s status.Snapshot) bool {
		return s.Display.Enabled && s.Display.State != ""
	})

	// A second visitor declines.
	waitScreen("scan")
	bob, _ := as.NewPhone("usr_bob")
	ch2 := as.Latest()
	if ch2 == ch {
		t.Fatal("no new challenge after the approval")
	}
	if _, err := bob.Claim(ctx, ch2); err != nil {
		t.Fatal(err)
	}
	if err := bob.Decline(ctx, ch2); err != nil {
		t.Fatal(err)
	}
	waitScreen("declined")

	// The log carries the user id but never the secret key.
	time.Sleep(300 * time.Millisecond)
	logs := d.log.String()
	if strings.Contains(logs, as.SecretKey) {
		t.Error("the Authsignal secret key appears in the log")
	}
}
