package assembly

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/display"
	"github.com/kioskd/kioskd/metrics"
)

type nopSink struct{}

func (nopSink) Approved(context.Context, string) error         { return nil }
func (nopSink) Rejected(context.Context, display.Reason) error { return nil }

type nopLedger struct{}

func (nopLedger) Use(context.Context, string) (bool, error) { return true, nil }

// TestHTTPServerGuards checks the listener's wiring in process: the display
// page needs the token from a client off the machine (issue 15 item 1) and
// every path refuses a Host that is not this kiosk (item 2, DNS rebinding).
// Before the fix /display/ was mounted bare and any Host was served.
func TestHTTPServerGuards(t *testing.T) {
	cfg, err := config.Parse([]byte("state_dir: /nonexistent\nhttp:\n  listen: 10.200.0.1:9750\n  hosts: [door-3.test]\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KIOSKD_HTTP_TOKEN", "s3cret-token")
	log := slog.New(slog.DiscardHandler)
	ctl, err := OpenDisplay(config.Display{APIURL: "http://127.0.0.1:1/v1", TenantID: "tn", Action: "kiosk-login",
		PollInterval: time.Second, Refresh: time.Minute}, "sk", nopSink{}, nopLedger{}, log)
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{cfg: cfg, log: log, metrics: metrics.New(), display: ctl}
	srv, err := d.httpServer(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const remote, local = "10.200.0.2:40000", "127.0.0.1:40000"
	tests := []struct {
		name, path, host, peer, auth string
		want                         int
	}{
		{"display page from the network, no token", "/display/", "10.200.0.1:9750", remote, "", 401},
		{"display QR from the network, no token", "/display/qr.svg", "10.200.0.1:9750", remote, "", 401},
		{"display state from the network, no token", "/display/state.json", "10.200.0.1:9750", remote, "", 401},
		{"display events from the network, no token", "/display/events", "10.200.0.1:9750", remote, "", 401},
		{"display from the network, wrong token", "/display/state.json", "10.200.0.1:9750", remote, "Bearer nope", 401},
		{"display from the network, token", "/display/state.json", "10.200.0.1:9750", remote, "Bearer s3cret-token", 200},
		{"display on the kiosk's screen", "/display/state.json", "127.0.0.1:9750", local, "", 200},
		{"display on the kiosk's screen, localhost", "/display/", "localhost:9750", local, "", 200},
		{"display, rebound name on the kiosk", "/display/state.json", "evil.example:9750", local, "", 421},
		{"metrics, configured host", "/metrics", "DOOR-3.test.", remote, "Bearer s3cret-token", 200},
		{"metrics, rebound name", "/metrics", "evil.example", remote, "Bearer s3cret-token", 421},
		{"metrics, no token", "/metrics", "10.200.0.1:9750", remote, "", 401},
		{"status page, rebound name", "/", "evil.example:9750", local, "Bearer s3cret-token", 421},
		{"status page, loopback", "/", "localhost:9750", local, "Bearer s3cret-token", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Bounded: /display/events is a stream that ends with the request.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			r := httptest.NewRequestWithContext(ctx, "GET", tt.path, nil)
			r.Host, r.RemoteAddr = tt.host, tt.peer
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			srv.Handler.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("GET %s Host %s from %s: %d %q, want %d", tt.path, tt.host, tt.peer, w.Code, w.Body, tt.want)
			}
		})
	}
}
