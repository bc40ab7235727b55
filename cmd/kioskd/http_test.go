package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/display/authsignal/astest"
	"github.com/kioskd/kioskd/status"
)

// displayConfig appends the display mode against the Authsignal fake to
// e's config.
func displayConfig(t *testing.T, e *env, as *astest.Server) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, "authsignal_secret"), []byte(as.SecretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(e.cfg)
	cfg = append(cfg, fmt.Sprintf(`display:
  enabled: true
  api_url: %s
  tenant_id: %s
  secret_key_file: authsignal_secret
  poll_interval: 200ms
`, as.URL, as.TenantID)...)
	if err := os.WriteFile(e.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
}

// setListener replaces the http section's listen line of e's config.
func setListener(t *testing.T, e *env, lines string) {
	t.Helper()
	cfg, _ := os.ReadFile(e.cfg)
	old := fmt.Sprintf("  listen: 127.0.0.1:%d\n", e.port)
	if !strings.Contains(string(cfg), old) {
		t.Fatalf("no %q in the config", old)
	}
	if err := os.WriteFile(e.cfg, []byte(strings.Replace(string(cfg), old, lines, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fetch is one request with the Host header and bearer token given ("" for
// none), from this process.
func fetch(t *testing.T, url, host, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// waitQR waits until the display page at base shows a challenge.
func waitQR(t *testing.T, base, token string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if code, body := fetch(t, base+"/display/qr.svg", "", token); code == 200 && strings.Contains(body, "<svg") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the display page at %s never showed a QR code", base)
}

// statusFromDaemon runs `kioskd status -json` and checks that the running
// daemon answered it (not the state folder read offline).
func statusFromDaemon(t *testing.T, e *env) {
	t.Helper()
	out, errOut, code := e.kioskd("status", "-config", e.cfg, "-json")
	if code != exitOK {
		t.Fatalf("kioskd status: exit %d %q %q", code, out, errOut)
	}
	var s status.Snapshot
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Offline {
		t.Errorf("kioskd status did not get the daemon's status (offline %v, %v): %q", s.Offline, err, errOut)
	}
}

// TestRunHTTPOnTheKiosk runs the real binary on the loopback listener with a
// token set, as a kiosk with remote access configured but reached from its
// own browser: the screen (no token) keeps working under every loopback
// spelling of the Host, the status page still wants its token, and a page
// whose own name was rebound to 127.0.0.1 (DNS rebinding in the kiosk's
// browser or through the SSH tunnel) reads nothing. Before the fix the
// rebound requests were answered 200.
func TestRunHTTPOnTheKiosk(t *testing.T) {
	as := astest.NewServer("tn_test", "sk_test_secret")
	defer as.Close()
	e := newEnv(t, "")
	const token = "kiosk-http-token-1"
	os.WriteFile(filepath.Join(e.dir, "http_token"), []byte(token+"\n"), 0o600)
	setListener(t, e, fmt.Sprintf("  listen: 127.0.0.1:%d\n  token_file: http_token\n", e.port))
	displayConfig(t, e, as)
	startDaemon(t, e)
	base := fmt.Sprintf("http://127.0.0.1:%d", e.port)
	waitQR(t, base, "")

	p := fmt.Sprint(e.port)
	tests := []struct {
		name, path, host, token string
		want                    int
	}{
		{"screen, 127.0.0.1", "/display/", "127.0.0.1:" + p, "", 200},
		{"screen QR, localhost", "/display/qr.svg", "localhost:" + p, "", 200},
		{"screen state, LOCALHOST. without port", "/display/state.json", "LOCALHOST.", "", 200},
		{"screen, [::1]", "/display/", "[::1]:" + p, "", 200},
		{"status page, token", "/", "localhost:" + p, token, 200},
		{"status json, token", "/status.json", "127.0.0.1:" + p, token, 200},
		{"status json, no token", "/status.json", "127.0.0.1:" + p, "", 401},
		{"healthz through a tunnel port", "/healthz", "localhost:8080", token, 0}, // 200 or 503: served
		{"rebound: status json", "/status.json", "attacker.example:" + p, token, 421},
		{"rebound: display QR", "/display/qr.svg", "attacker.example:" + p, "", 421},
		{"rebound: preview", "/preview.jpg", "attacker.example", token, 421},
		{"rebound: metrics", "/metrics", "rebind.attacker.example.:" + p, token, 421},
	}
	statusFromDaemon(t, e)
	for _, tt := range tests {
		code, body := fetch(t, base+tt.path, tt.host, tt.token)
		if tt.want == 0 {
			if code != 200 && code != 503 {
				t.Errorf("%s: GET %s Host %s: %d %q, want it served", tt.name, tt.path, tt.host, code, body)
			}
			continue
		}
		if code != tt.want {
			t.Errorf("%s: GET %s Host %s: %d %q, want %d", tt.name, tt.path, tt.host, code, body, tt.want)
		}
	}
}

// TestRunHTTPFromTheNetwork runs the real binary listening on a veth address
// with a token, and sends requests from inside a network namespace: a
// client on the network, as an outsider is. Before the fix the display page,
// its QR code (the live challenge: approve it on an enrolled phone and the
// relay opens) and its state answered without the token, and any Host was
// served.
func TestRunHTTPFromTheNetwork(t *testing.T) {
	peer := newNetPeer(t)
	as := astest.NewServer("tn_test", "sk_test_secret")
	defer as.Close()
	e := newEnv(t, "")
	const token = "kiosk-http-token-2"
	os.WriteFile(filepath.Join(e.dir, "http_token"), []byte(token+"\n"), 0o600)
	setListener(t, e, fmt.Sprintf("  listen: %s:%d\n  token_file: http_token\n  hosts: [door-3.test]\n", peer.hostIP, e.port))
	displayConfig(t, e, as)
	startDaemon(t, e)
	addr := fmt.Sprintf("%s:%d", peer.hostIP, e.port)
	base := "http://" + addr
	waitQR(t, base, token)

	tests := []struct {
		name, path, host, token string
		want                    int
	}{
		{"display page, no token", "/display/", "", "", 401},
		{"display QR, no token", "/display/qr.svg", "", "", 401},
		{"display state, no token", "/display/state.json", "", "", 401},
		{"display QR, token", "/display/qr.svg", "", token, 200},
		{"status json, no token", "/status.json", "", "", 401},
		{"status json, token", "/status.json", "", token, 200},
		{"status json, configured host", "/status.json", "Door-3.Test:" + fmt.Sprint(e.port), token, 200},
		{"rebound: status json", "/status.json", "attacker.example:" + fmt.Sprint(e.port), token, 421},
		{"rebound: display QR", "/display/qr.svg", "attacker.example", token, 421},
		{"rebound: healthz", "/healthz", "attacker.example", "", 421},
	}
	statusFromDaemon(t, e)
	for _, tt := range tests {
		code, body := peer.get(t, base+tt.path, tt.host, tt.token)
		if code != tt.want {
			t.Errorf("%s: GET %s Host %q from %s: %d %q, want %d", tt.name, tt.path, tt.host, peer.peerIP, code, body, tt.want)
		}
		if code == 200 && tt.path == "/display/qr.svg" && !strings.Contains(body, "<svg") {
			t.Errorf("%s: not a QR code: %q", tt.name, body)
		}
	}
}

// TestDialAddr: `kioskd status` asks the daemon at its listen address; a
// wildcard listener (the documented 0.0.0.0:9750) refuses "0.0.0.0" as a
// Host, so the command asks it on loopback instead.
func TestDialAddr(t *testing.T) {
	for _, tt := range []struct{ listen, want string }{
		{"127.0.0.1:9750", "127.0.0.1:9750"},
		{"10.0.0.5:9750", "10.0.0.5:9750"},
		{"localhost:9750", "localhost:9750"},
		{"0.0.0.0:9750", "127.0.0.1:9750"},
		{":9750", "127.0.0.1:9750"},
		{"[::]:9750", "[::1]:9750"},
		{"[fd00::1]:9750", "[fd00::1]:9750"},
	} {
		if got := dialAddr(tt.listen); got != tt.want {
			t.Errorf("dialAddr(%q) = %q, want %q", tt.listen, got, tt.want)
		}
	}
}
