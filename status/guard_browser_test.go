package status

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPageRebindingInChromium is DNS rebinding in a real browser: Chromium
// resolves rebind.test to 127.0.0.1 (--host-resolver-rules stands in for the
// attacker's DNS), so a page on rebind.test is same-origin with the status
// listener and its script can read status.json. The unguarded handler shows
// that the attack works; behind CheckHost the page gets only the 421, while
// the kiosk's own browser (127.0.0.1, localhost) still sees the status.
func TestPageRebindingInChromium(t *testing.T) {
	chromium(t)
	tests := []struct {
		name    string
		guarded bool
		host    string
		served  bool
	}{
		{"unguarded, rebound name (the attack)", false, "rebind.test", true},
		{"guarded, rebound name", true, "rebind.test", false},
		{"guarded, 127.0.0.1", true, "127.0.0.1", true},
		{"guarded, localhost", true, "localhost", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Handler = Handler(ProviderFunc(fixture), fakePreview{}, HandlerOptions{})
			if tt.guarded {
				h = CheckHost("127.0.0.1:0", nil, h)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			url := fmt.Sprintf("http://%s:%d/", tt.host, srv.Listener.Addr().(*net.TCPAddr).Port)
			dom := string(runChromium(t, "--host-resolver-rules=MAP rebind.test 127.0.0.1", "--virtual-time-budget=2000", "--dump-dom", url))
			// 12345 is the fixture's cache count, shown once status.json was read.
			if got := strings.Contains(dom, "12345"); got != tt.served {
				t.Errorf("%s: status shown %v, want %v\n%s", url, got, tt.served, tail(dom, 2000))
			}
			if !tt.served && !strings.Contains(dom, "misdirected request") {
				t.Errorf("%s: no 421 text:\n%s", url, tail(dom, 2000))
			}
		})
	}
}
