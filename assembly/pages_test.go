package assembly

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/metrics"
	"github.com/kioskd/kioskd/scanner"
)

// TestPagesGuards: the screen (an http.pages entry) needs the listener's
// token from any client but the kiosk itself; the desk takes only its
// named staff tokens: not the listener's, and none is not enough even
// from the kiosk itself.
func TestPagesGuards(t *testing.T) {
	cfg, err := config.Parse([]byte("state_dir: /nonexistent\nhttp:\n  listen: 10.200.0.1:9750\n  pages:\n" +
		"    - kind: screen\n    - kind: desk\n      staff_file: staff\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(&cfg); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KIOSKD_HTTP_TOKEN", "listener-token")
	t.Setenv("KIOSKD_DESK_STAFF", "ada ada-0123456789abcdef\n")
	d := &Daemon{cfg: cfg, log: slog.New(slog.DiscardHandler), metrics: metrics.New()}
	srv, err := d.httpServer(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const host, remote, local = "10.200.0.1:9750", "10.200.0.2:40000", "127.0.0.1:40000"
	tests := []struct {
		name, path, peer, auth string
		want                   int
	}{
		{"screen on the kiosk's display", "/screen/", local, "", 200},
		{"screen from the network", "/screen/", remote, "", 401},
		{"screen from the network with the token", "/screen/state.json", remote, "Bearer listener-token", 200},
		{"desk page (static)", "/desk/", remote, "", 200},
		{"desk action with the listener's token", "/desk/whoami", remote, "Bearer listener-token", 401},
		{"desk action on the kiosk without a token", "/desk/whoami", local, "", 401},
		{"desk action with a staff token", "/desk/whoami", remote, "Bearer ada-0123456789abcdef", 200},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r := httptest.NewRequestWithContext(ctx, "GET", tt.path, nil)
		r.Host, r.RemoteAddr = host, tt.peer
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		w := httptest.NewRecorder()
		srv.Handler.ServeHTTP(w, r)
		cancel()
		if w.Code != tt.want {
			t.Errorf("%s: %d %q, want %d", tt.name, w.Code, w.Body, tt.want)
		}
	}
}

// TestHintFeed: a page subscribing hears the hint now, then each change,
// until it cancels.
func TestHintFeed(t *testing.T) {
	var f hintFeed
	f.publish(scanner.HintTooFar)
	var got []scanner.Hint
	cancel := f.Subscribe(func(h scanner.Hint) { got = append(got, h) })
	f.publish(scanner.HintNone)
	cancel()
	f.publish(scanner.HintTooDark)
	if want := []scanner.Hint{scanner.HintTooFar, scanner.HintNone}; !slices.Equal(got, want) {
		t.Errorf("heard %v, want %v", got, want)
	}
}
