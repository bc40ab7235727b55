package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
)

// echoServer is a hostile or broken BitBadges (or a proxy in front of it)
// that quotes the whole request back: headers and body, in its error
// message or as a non-JSON page.
func echoServer(t *testing.T, status int, asJSON bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var sb strings.Builder
		// Short pieces first: the client cuts long messages.
		sb.Write(body)
		fmt.Fprintf(&sb, " %s %s x-api-key=%s authorization=%s", r.Method, r.URL, r.Header.Get("x-api-key"), r.Header.Get("Authorization"))
		if asJSON {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"errorMessage": sb.String(), "error": sb.String()})
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		io.WriteString(w, "<html>"+sb.String()+"</html>")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSecretsStayOutOfTheOutput runs sync and check (with the online
// exchange) against servers that refuse, fail, or quote the request back,
// and against no server at all: neither the API key, the client secret, the
// refresh token nor the scanned code may reach stdout or stderr.
func TestSecretsStayOutOfTheOutput(t *testing.T) {
	_, unknown, _ := demoframes.Codes()
	type srv struct {
		name string
		url  func(t *testing.T) string
	}
	servers := []srv{
		{"refused", func(t *testing.T) string { return echoServer(t, 401, true).URL + "/api/v0" }},
		{"server error", func(t *testing.T) string { return echoServer(t, 500, true).URL + "/api/v0" }},
		{"bad request", func(t *testing.T) string { return echoServer(t, 400, true).URL + "/api/v0" }},
		{"html 200", func(t *testing.T) string { return echoServer(t, 200, false).URL + "/api/v0" }},
		{"html 502", func(t *testing.T) string { return echoServer(t, 502, false).URL + "/api/v0" }},
		{"nobody listening", func(t *testing.T) string { return fmt.Sprintf("http://127.0.0.1:%d/api/v0", freePort(t)) }},
	}
	// Secrets short enough to slip past the token-shaped pattern, so only
	// explicit redaction can catch them.
	secrets := map[string]string{"api_key": "K3y-Of-The-Venue", "client_secret": "Cl13nt-s3cr3t", "refresh_token": "R3fr3sh-tok"}
	leak := regexp.MustCompile(`K3y-Of|Cl13nt|R3fr3sh|` + unknown[:16])
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			e := newEnv(t, "")
			for name, v := range secrets {
				if err := os.WriteFile(e.dir+"/"+name, []byte(v+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			raw, _ := os.ReadFile(e.cfg)
			cfg := strings.Replace(string(raw), e.srv.URL(), s.url(t), 1)
			cfg = strings.Replace(cfg, "  sync_schedule:", "  online_exchange: true\n  sync_schedule:", 1)
			os.WriteFile(e.cfg, []byte(cfg), 0o600)
			for _, args := range [][]string{{"sync", "-config", e.cfg}, {"check", "-config", e.cfg, unknown}} {
				out, errOut, code := e.kioskd(args...)
				if code == exitOK {
					t.Errorf("kioskd %s against a broken server: exit 0", args[0])
				}
				if m := leak.FindString(out + errOut); m != "" {
					t.Errorf("kioskd %s: %q leaked:\n%s%s", args[0], m, out, errOut)
				}
				t.Logf("kioskd %s: exit %d\n%s%s", args[0], code, out, errOut)
			}
		})
	}
}

// TestRunLogKeepsSecrets runs the daemon against a server that refuses
// every request and quotes it back: the failed start-up sync is logged,
// without the API key, the client secret or the refresh token.
func TestRunLogKeepsSecrets(t *testing.T) {
	e := newEnv(t, "")
	secrets := map[string]string{"api_key": "K3y-Of-The-Venue", "client_secret": "Cl13nt-s3cr3t", "refresh_token": "R3fr3sh-tok"}
	for name, v := range secrets {
		if err := os.WriteFile(e.dir+"/"+name, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, []byte(strings.Replace(string(raw), e.srv.URL(), echoServer(t, 401, true).URL+"/api/v0", 1)), 0o600)
	writeDemoFrames(t, e.dir+"/frames", []string{"03-no-qr.png"})
	d := launch(t, e)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(d.log.String(), "sync: failed") {
		if time.Now().After(deadline) {
			t.Fatal("no failed sync logged")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if exited, _ := d.stop(15 * time.Second); !exited {
		t.Error("no exit after SIGTERM")
	}
	if m := regexp.MustCompile(`K3y-Of|Cl13nt|R3fr3sh`).FindString(d.log.String()); m != "" {
		t.Errorf("%q leaked into the daemon's log", m)
	}
}
