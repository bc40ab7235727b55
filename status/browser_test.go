package status

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests load the status page in a real headless Chromium (Debian's
// chromium package) against an httptest server on 127.0.0.1 and read the
// DOM after the page's script has fetched /status.json: they prove the page
// works in a browser, not just that the server sends bytes.
//
// Set KIOSKD_SCREENSHOT_DIR to keep a PNG of each page for a person to look at.

const chromiumPath = "/usr/bin/chromium"

func chromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not installed (apt-get install chromium); .ci/run installs it", chromiumPath)
	}
}

// runChromium runs one headless Chromium with the flags that keep it off
// the network (other than the URL given) and quiet.
func runChromium(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, chromiumPath, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// dumpDOM returns the page's DOM once the script has rendered a snapshot
// (the "updated" time is filled in), growing the virtual time budget if
// the first try was too short on a loaded machine.
func dumpDOM(t *testing.T, url string) string {
	t.Helper()
	var dom string
	for _, budget := range []string{"3000", "10000", "30000"} {
		dom = string(runChromium(t, "--virtual-time-budget="+budget, "--dump-dom", url))
		if !strings.Contains(dom, `id="updated">never<`) && strings.Contains(dom, `id="updated">`) {
			return dom
		}
	}
	t.Fatalf("the page never rendered a snapshot:\n%s", tail(dom, 3000))
	return ""
}

// text returns the text content of the element with the given id (a leaf).
func text(t *testing.T, dom, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no element #%s in the DOM", id)
	}
	return m[1]
}

func TestPageInBrowser(t *testing.T) {
	chromium(t)
	const token = "tok-3f9a"
	xss := fixture()
	xss.Recent[0].Name = `<img src=x onerror="document.title='pwned'">`
	sick := fixture()
	sick.Healthy = false
	sick.Problems = []string{"camera down: /dev/video0: no such device"}
	sick.Camera.Up = false
	sick.Cache.Stale = true
	syncing := fixture()
	syncing.Sync.Syncing, syncing.Sync.SyncingSince, syncing.Sync.Page = true, syncing.Now.Add(-time.Minute), 1234
	syncing.Sync.HeldBack = &HeldBack{Codes: 20, Cached: 300, At: syncing.Now.Add(-time.Hour)}
	syncing.Healthy, syncing.Problems = false, []string{syncing.Sync.HeldBack.Problem()}
	// Scanner inputs (issue 20): a door with two scanners and no camera.
	scanners := fixture()
	scanners.Camera = Camera{}
	scanners.Healthy, scanners.Problems = false, []string{"input desk (hid) down: hid: device gone: EOF"}
	scanners.Inputs = []Input{{Name: "door-uart", Type: "serial", Up: true, Detail: "serial /dev/serial0 9600 8N1", Reads: 12,
		VerdictLatencyP50: Duration(4 * time.Millisecond), VerdictLatencyP95: Duration(9 * time.Millisecond)},
		{Name: "desk", Type: "hid", Detail: "hid: device gone: EOF"}}
	// Loyalty visits and hand-off outputs: a table each, only when the JSON
	// has them.
	handoff := fixture()
	handoff.Visits = &Visits{Period: "month", Current: "2026-11", TimeZone: "Europe/Berlin", Cooldown: Duration(4 * time.Hour),
		Visits: 318, Holders: 97, Published: 12, Applied: 40}
	no := false
	handoff.Outputs = []Output{
		{Name: "till", Kind: "webhook", Target: "https://till.venue.example/hook", Configured: true, Delivered: 52,
			LastDelivered: handoff.Now.Add(-time.Minute), LastLatency: Duration(85 * time.Millisecond)},
		{Name: "bar", Kind: "webhook", Target: "http://10.0.0.7:8080/in", Configured: true, Queued: 6, Delivered: 3, Refused: 1,
			Failures: 4, LastError: "POST http://10.0.0.7:8080/in: connection refused", NextAttempt: handoff.Now.Add(30 * time.Second)},
		{Name: "signage", Kind: "mqtt", Target: "mqtt://broker.venue:1883 kiosk/door-3", Configured: true, Connected: &no},
		{Name: "old-till", Queued: 2, Dropped: 9},
	}
	fleet := fixture()
	fleet.Fleet = &Fleet{Broker: "mqtt://broker.venue:1883", Connected: true, Published: 4, Applied: 9}
	fleet.Peers = []Peer{{Kiosk: "door-4", LastSeen: fleet.Now.Add(-time.Minute), Online: true}}

	tests := []struct {
		name  string
		snap  Snapshot
		pv    Preview
		token string
		// id -> exact text once rendered
		want map[string]string
		// substrings of the DOM
		contains, notContains []string
	}{
		{
			name: "healthy",
			snap: fixture(),
			pv:   fakePreview{},
			want: map[string]string{
				"kiosk": "door-3", "health": "Healthy", "cache-count": "12345", "events-pending": "7",
				"cache-age": "5m0s", "camera-fps": "29.7 fps", "camera-decode": "3.1ms", "clock": "trusted",
				"sync-result": "failed: GET /auth/prefetch: 503 Service Unavailable",
				"sync-now":    "idle", "sync-held-back": "none",
			},
			contains: []string{
				">already-used<", ">Ada Lovelace<", ">9f86d081<", ">✘ reject<", ">✔ accept<", ">not-a-code<",
				// the preview loaded: its "waiting" overlay is hidden
				`id="preview-msg" class="overlay" hidden=""`,
				// no visit counter, no outputs: no tables for them
				`<section id="visits-card" class="card wide" hidden="">`, `<section id="outputs-card" class="card wide" hidden="">`,
			},
			notContains: []string{testCode},
		},
		{
			name:     "token kept for the page's own requests",
			snap:     fixture(),
			pv:       fakePreview{},
			token:    token,
			want:     map[string]string{"cache-count": "12345", "events-pending": "7"},
			contains: []string{">already-used<", `id="preview-msg" class="overlay" hidden=""`},
		},
		{
			name: "unhealthy, no frame yet",
			snap: sick,
			pv:   fakePreview{err: ErrNoFrame},
			want: map[string]string{
				"health": "Not healthy", "camera-state": "DOWN", "cache-age": "5m0s (STALE)",
				"preview-msg": "no preview: no frame yet, or the camera is down",
			},
			contains: []string{"<li>camera down: /dev/video0: no such device</li>"},
		},
		{
			name: "syncing, a snapshot held back",
			snap: syncing,
			want: map[string]string{"health": "Not healthy"},
			contains: []string{`id="sync-now" class="warn">syncing since `, `, page 1234<`,
				`id="sync-held-back" class="fail">20 codes listed at `, `, 300 cached: the old cache serves; to apply, stop the daemon and run kioskd sync -apply-held-back<`,
				"<li>sync: snapshot of 20 codes held back (the cache holds 300)"},
		},
		{
			name: "scanner inputs",
			snap: scanners,
			want: map[string]string{"camera-state": "none (scanner inputs only)",
				"inputs": "door-uart (serial): up, serial /dev/serial0 9600 8N1, 12 reads, verdict latency 4ms / 9ms; desk (hid): DOWN, hid: device gone: EOF, 0 reads"},
			contains: []string{`id="inputs" class="fail"`, "<li>input desk (hid) down: hid: device gone: EOF</li>"},
		},
		{
			name: "visits and outputs",
			snap: handoff,
			want: map[string]string{"cache-count": "12345"},
			contains: []string{
				`<section id="visits-card" class="card wide">`,
				`<tbody id="visits"><tr><td>2026-11 (per month, Europe/Berlin)</td><td class="num">318</td><td class="num">97</td><td>4h0m0s</td><td>12 shared, 40 from peers</td></tr></tbody>`,
				`<section id="outputs-card" class="card wide">`,
				`<tr><td>till</td><td class="mono">webhook https://till.venue.example/hook</td><td class="good">delivering</td><td class="num">0</td><td class="num">52</td><td class="num">0</td><td class="num">0</td><td>`,
				` in 85ms</td></tr>`,
				`<td>bar</td><td class="mono">webhook http://10.0.0.7:8080/in</td><td class="fail">FAILING (4 in a row): POST http://10.0.0.7:8080/in: connection refused; next attempt `,
				`<td class="num warn">6</td><td class="num">3</td><td class="num fail">1</td><td class="num">0</td><td>never</td>`,
				`<td>signage</td><td class="mono">mqtt mqtt://broker.venue:1883 kiosk/door-3</td><td class="fail">DISCONNECTED</td>`,
				`<td>old-till</td><td class="mono">–</td><td class="warn">no longer configured (kioskd outputs drop)</td><td class="num warn">2</td><td class="num">0</td><td class="num">0</td><td class="num fail">9</td>`,
			},
		},
		{
			name:     "fleet",
			snap:     fleet,
			want:     map[string]string{"fleet": "mqtt://broker.venue:1883 connected; 4 published, 0 pending, 9 applied from peers"},
			contains: []string{`<section id="peers-card" class="card wide">`, ">door-4<", ">online<"},
		},
		{
			name:        "names are text, not HTML",
			snap:        xss,
			want:        map[string]string{"cache-count": "12345"},
			contains:    []string{`&lt;img src=x onerror="document.title='pwned'"&gt;`},
			notContains: []string{"<title>pwned"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.snap
			srv := httptest.NewServer(Handler(ProviderFunc(func() Snapshot { return snap }), tc.pv, HandlerOptions{Token: tc.token}))
			defer srv.Close()
			url := srv.URL + "/"
			if tc.token != "" {
				url += "?token=" + tc.token
			}
			dom := dumpDOM(t, url)
			for id, want := range tc.want {
				if got := text(t, dom, id); got != want {
					t.Errorf("#%s = %q, want %q", id, got, want)
				}
			}
			for _, s := range tc.contains {
				if !strings.Contains(dom, s) {
					t.Errorf("DOM lacks %q", s)
				}
			}
			for _, s := range tc.notContains {
				if strings.Contains(dom, s) {
					t.Errorf("DOM contains %q", s)
				}
			}
			if t.Failed() {
				t.Logf("DOM:\n%s", tail(dom, 6000))
			}
			// One screenshot always proves the page paints; the rest only
			// when someone will look at them (each costs a browser start).
			if tc.name == "healthy" || os.Getenv("KIOSKD_SCREENSHOT_DIR") != "" {
				screenshot(t, url, strings.ReplaceAll(tc.name, " ", "-"))
			}
		})
	}
}

// TestPageWithoutTokenIsRefused: the browser gets nothing but the 401 text
// when the token is required and absent.
func TestPageWithoutTokenIsRefused(t *testing.T) {
	chromium(t)
	srv := httptest.NewServer(Handler(ProviderFunc(fixture), fakePreview{}, HandlerOptions{Token: "tok"}))
	defer srv.Close()
	dom := string(runChromium(t, "--virtual-time-budget=2000", "--dump-dom", srv.URL+"/"))
	if !strings.Contains(dom, "unauthorized") || strings.Contains(dom, "12345") {
		t.Fatalf("page without token:\n%s", tail(dom, 2000))
	}
}

// screenshot takes a PNG of the rendered page and checks it is a real
// image; with KIOSKD_SCREENSHOT_DIR set it is kept there.
func screenshot(t *testing.T, url, name string) {
	t.Helper()
	dir := os.Getenv("KIOSKD_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path, err := filepath.Abs(filepath.Join(dir, "status-"+name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	runChromium(t, "--virtual-time-budget=5000", "--window-size=1280,1000", "--screenshot="+path, url)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 1000 {
		t.Errorf("screenshot is %v, want 1280x1000", b)
	}
}
