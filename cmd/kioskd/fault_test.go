package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// The fault suite of issue 17 (and 15.4), through the real binary: `kioskd
// sync`, `kioskd status` and the daemon against a scripted BitBadges server on
// loopback. `go test -run Fault` runs them; KIOSKD_FAULT_LONG=1 the long
// variants.

func faultLong() bool { return !testing.Short() && os.Getenv("KIOSKD_FAULT_LONG") == "1" }

// script points e's config at a scripted pre-fetch in front of its stand-in
// (token renewal stays the stand-in's).
func (e *env) script(fn bbtest.PageFunc) *bbtest.Scripted {
	e.t.Helper()
	sc := e.srv.Script(fn)
	e.t.Cleanup(sc.Close)
	e.setAPI(sc.URL())
	return sc
}

// setAPI rewrites bitbadges.api_url in e's config.
func (e *env) setAPI(url string) {
	e.t.Helper()
	raw, err := os.ReadFile(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  api_url: ") {
			lines[i] = "  api_url: " + url
		}
	}
	if err := os.WriteFile(e.cfg, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func scripted(from, n int) []bbtest.Record {
	out := make([]bbtest.Record, n)
	for i := range out {
		out[i] = bbtest.Record{Code: bbtest.Code(from + i)}
	}
	return out
}

// mustSync runs a first `kioskd sync` against the plain stand-in: 42 codes.
func (e *env) mustSync() {
	e.t.Helper()
	if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK || !strings.Contains(out, "synced 42 codes") {
		e.t.Fatalf("first sync: exit %d, %q %q", code, out, errOut)
	}
}

// measured runs `kioskd args...` to its end within limit and reports its
// output, exit code, wall time and peak RSS.
func (e *env) measured(limit time.Duration, args ...string) (out string, code int, took time.Duration, rssKiB int64) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, kioskdBin, args...)
	cmd.Dir, cmd.Env = e.dir, toolEnv()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	took = time.Since(start)
	if ctx.Err() != nil {
		e.t.Fatalf("kioskd %v still running after %v (killed): %v\n%s", args[0], limit, err, tail(buf.String(), 2000))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssKiB = ru.Maxrss
	}
	return buf.String(), cmd.ProcessState.ExitCode(), took, rssKiB
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestFaultEndlessBookmarks: `kioskd sync` against a server that hands out a
// fresh bookmark and fresh codes on every page stops at the automatic page
// bound (3× the last sync's 2 pages + 1,000), exits 2 saying why, and leaves
// the cache as it was. Before the bounds it ran until the disk was full.
func TestFaultEndlessBookmarks(t *testing.T) {
	cases := []struct {
		name  string
		seed  bool // a first good sync of 42 codes (2 pages) sizes the bound
		bound int
		limit time.Duration
	}{
		{name: "after a sync of 2 pages", seed: true, bound: 3*2 + 1000, limit: 60 * time.Second},
	}
	if faultLong() {
		cases = append(cases, struct {
			name  string
			seed  bool
			bound int
			limit time.Duration
		}{name: "never synced", bound: 20000, limit: 5 * time.Minute})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "")
			want := 0
			if tc.seed {
				e.mustSync()
				want = 42
			}
			var served atomic.Int64
			e.script(func(string) ([]bbtest.Record, string, bool) {
				n := int(served.Add(1))
				return scripted(n*25, 25), fmt.Sprintf("endless-%d", n), true
			})
			out, code, took, rss := e.measured(tc.limit, "sync", "-config", e.cfg)
			if code != exitError || !strings.Contains(out, "bound") || !strings.Contains(out, "bitbadges.sync_max_pages") {
				t.Fatalf("endless sync: exit %d\n%s", code, tail(out, 2000))
			}
			if n := served.Load(); n != int64(tc.bound) {
				t.Errorf("%d pages served, want the automatic bound of %d", n, tc.bound)
			}
			if got := e.cacheCount(); got != want {
				t.Errorf("cache %d after a bounded sync, want the old %d", got, want)
			}
			var dbKiB int64
			if fi, err := os.Stat(e.dir + "/state/kioskd.db"); err == nil {
				dbKiB = fi.Size() >> 10
			}
			t.Logf("endless bookmarks: %d pages, %v, peak RSS %d KiB, database %d KiB (race binary: %v)",
				served.Load(), took.Round(time.Millisecond), rss, dbKiB, raceEnabled)
		})
	}
}

// TestFaultBookmarkCycle: a circle of 100 bookmarks (more than the client
// remembers) is caught on its first repeat.
func TestFaultBookmarkCycle(t *testing.T) {
	n := 100
	if faultLong() {
		n = 1000 // under the automatic page bound of 1,006
	}
	e := newEnv(t, "")
	e.mustSync()
	var served atomic.Int64
	e.script(func(bookmark string) ([]bbtest.Record, string, bool) {
		served.Add(1)
		i := 0
		fmt.Sscanf(bookmark, "cycle-%d", &i)
		return scripted(i*25, 25), fmt.Sprintf("cycle-%d", (i+1)%n), true
	})
	out, code, took, _ := e.measured(60*time.Second, "sync", "-config", e.cfg)
	if code != exitError || !strings.Contains(out, "bookmark cycle") {
		t.Fatalf("cycling sync: exit %d\n%s", code, tail(out, 2000))
	}
	if got := served.Load(); got != int64(n)+1 {
		t.Errorf("%d pages served for a cycle of %d, want %d", got, n, n+1)
	}
	if got := e.cacheCount(); got != 42 {
		t.Errorf("cache %d, want the old 42", got)
	}
	t.Logf("cycle of %d caught after %d pages in %v", n, served.Load(), took.Round(time.Millisecond))
}

// TestFaultDuplicatePages: pages 2-9 repeating page 1 are 25 codes, and
// `kioskd sync` says so instead of "synced 225 codes".
func TestFaultDuplicatePages(t *testing.T) {
	e := newEnv(t, "")
	e.script(func(bookmark string) ([]bbtest.Record, string, bool) {
		n := 0
		fmt.Sscanf(bookmark, "dup-%d", &n)
		return scripted(0, 25), fmt.Sprintf("dup-%d", n+1), n+1 < 9
	})
	out, errOut, code := e.kioskd("sync", "-config", e.cfg)
	if code != exitOK || !strings.Contains(out, "synced 25 codes (225 records, 200 duplicates; 9 pages") {
		t.Fatalf("sync: exit %d, %q\n%s", code, out, tail(errOut, 2000))
	}
	if got := e.cacheCount(); got != 25 {
		t.Errorf("cache %d, want 25", got)
	}
}

// TestFaultUppercaseCodes: a code the server sends in upper case (its
// _docId the sha256 of that text) matches a scan of it.
func TestFaultUppercaseCodes(t *testing.T) {
	e := newEnv(t, "")
	code := bbtest.Code(7)
	e.srv.Add(bbtest.Record{Code: strings.ToUpper(code), Name: "Shouting guest"})
	if out, errOut, c := e.kioskd("sync", "-config", e.cfg); c != exitOK || !strings.Contains(out, "synced 43 codes") {
		t.Fatalf("sync: exit %d, %q %q", c, out, errOut)
	}
	for _, scan := range []string{code, strings.ToUpper(code)} {
		out, errOut, c := e.kioskd("check", "-config", e.cfg, "-dry-run", scan)
		if c != exitOK || !strings.Contains(out, "accept\tok\tShouting guest") {
			t.Errorf("check: exit %d, %q %q; want the upper-case code accepted", c, out, errOut)
		}
	}
}

// TestFaultHeldBackSnapshot (issue 15.4): a daemon whose server suddenly
// lists no codes keeps serving its 42, and says so in status.json, `kioskd
// status` (text and -json), the page's data and /metrics; the operator
// applies it with `kioskd sync -apply-held-back`.
func TestFaultHeldBackSnapshot(t *testing.T) {
	e := newEnv(t, "")
	e.mustSync()
	e.script(func(string) ([]bbtest.Record, string, bool) { return nil, "", false })
	// Loop the one-image folder so the test can swap what is in view.
	cfg, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, bytes.Replace(cfg, []byte("  rearm: 200ms\n"), []byte("  rearm: 200ms\n  loop: true\n"), 1), 0o600)
	d := startDaemon(t, e)
	s := waitView(t, e, "the start-up sync", 20*time.Second, func(s view) bool { return !s.Sync.LastAttempt.IsZero() && !s.Sync.Syncing })
	if s.Cache.Count != 42 || s.Sync.HeldBack == nil || s.Sync.HeldBack.Codes != 0 || s.Sync.HeldBack.Cached != 42 {
		t.Fatalf("after an empty answer: cache %d, sync %+v", s.Cache.Count, s.Sync)
	}
	if s.Healthy || !strings.Contains(strings.Join(s.Problems, "\n"), "held back") {
		t.Errorf("a held-back snapshot is not a problem: healthy %v, %q", s.Healthy, s.Problems)
	}
	if s.Sync.NextSync.IsZero() {
		t.Error("next_sync is zero")
	}
	valid, _, _ := demoframes.Codes()
	d.show("01-code-a.png")
	waitView(t, e, "the valid code accepted from the old cache", 20*time.Second, func(s view) bool {
		return len(s.Recent) > 0 && s.Recent[0].Accept
	})
	out, errOut, code := e.kioskd("status", "-config", e.cfg)
	if code != exitOK || !strings.Contains(out, "held back") || !strings.Contains(out, "-apply-held-back") {
		t.Errorf("kioskd status: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = e.kioskd("status", "-config", e.cfg, "-json")
	var js view
	if err := json.Unmarshal([]byte(out), &js); err != nil || js.Sync.HeldBack == nil {
		t.Errorf("kioskd status -json: %v, sync %+v\n%s", err, js.Sync, out)
	}
	metrics := scrapeMetrics(t, e)
	for _, want := range []string{"kioskd_sync_held_back 1", "kioskd_sync_held_back_codes 0", "kioskd_cache_codes 42"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if ok, err := d.stop(10 * time.Second); !ok || err != nil {
		t.Fatalf("stop: %v %v", ok, err)
	}

	// Without the flag `kioskd sync` holds it back too, and says how to apply.
	out, errOut, code = e.kioskd("sync", "-config", e.cfg)
	if code != exitError || !strings.Contains(errOut, "held back") || !strings.Contains(errOut, "-apply-held-back") {
		t.Fatalf("sync: exit %d, %q %q", code, out, errOut)
	}
	if e.cacheCount() != 42 {
		t.Fatal("kioskd sync replaced the cache")
	}
	out, errOut, code = e.kioskd("sync", "-config", e.cfg, "-apply-held-back")
	if code != exitOK || !strings.Contains(out, "synced 0 codes") || !strings.Contains(out, "from 42 to 0") {
		t.Fatalf("sync -apply-held-back: exit %d, %q %q", code, out, errOut)
	}
	if out, _, code := e.kioskd("check", "-config", e.cfg, "-dry-run", valid); code != exitReject {
		t.Errorf("after applying the empty list the valid code is still let in: %q", out)
	}
}

// TestFaultSyncingStatus: while a daemon's pre-fetch runs, the status says
// "syncing since …, page N" (status.json, `kioskd status` text and -json,
// /metrics) and next_sync is never the zero time.
func TestFaultSyncingStatus(t *testing.T) {
	e := newEnv(t, "")
	release := make(chan struct{})
	var once stdsync.Once
	e.script(func(bookmark string) ([]bbtest.Record, string, bool) {
		switch bookmark {
		case "":
			return scripted(0, 25), "p2", true
		case "p2":
			return scripted(25, 25), "p3", true
		}
		<-release
		return scripted(50, 3), "p4", false
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before the server's Close
	startDaemon(t, e)
	s := waitView(t, e, "syncing at page 3", 20*time.Second, func(s view) bool { return s.Sync.Syncing && s.Sync.Page == 3 })
	if s.Sync.SyncingSince.IsZero() || s.Sync.NextSync.IsZero() {
		t.Errorf("while syncing: %+v", s.Sync)
	}
	out, errOut, code := e.kioskd("status", "-config", e.cfg)
	if code != exitOK || !strings.Contains(out, "SYNCING since") || !strings.Contains(out, "page 3") || !strings.Contains(out, "next ") {
		t.Errorf("kioskd status while syncing: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = e.kioskd("status", "-config", e.cfg, "-json")
	var js view
	if err := json.Unmarshal([]byte(out), &js); err != nil || !js.Sync.Syncing || js.Sync.Page != 3 ||
		js.Sync.NextSync.IsZero() || !strings.Contains(out, `"syncing_since"`) {
		t.Errorf("kioskd status -json while syncing (%v):\n%s", err, out)
	}
	metrics := scrapeMetrics(t, e)
	for _, want := range []string{"kioskd_sync_in_progress 1", "kioskd_sync_pages 3"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	once.Do(func() { close(release) })
	s = waitView(t, e, "the sync done", 20*time.Second, func(s view) bool { return !s.Sync.Syncing && s.Cache.Count == 53 })
	if s.Sync.NextSync.IsZero() || s.Sync.Page != 0 {
		t.Errorf("after the sync: %+v", s.Sync)
	}
}

// view is status.json as an outside reader decodes it (its own type, so the
// suite also builds against a kioskd from before these fields).
type view struct {
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems"`
	Cache    struct {
		Count int `json:"count"`
	} `json:"cache"`
	Sync struct {
		LastAttempt  time.Time `json:"last_attempt"`
		NextSync     time.Time `json:"next_sync"`
		Syncing      bool      `json:"syncing"`
		SyncingSince time.Time `json:"syncing_since"`
		Page         int       `json:"page"`
		HeldBack     *struct {
			Codes  int `json:"codes"`
			Cached int `json:"cached"`
		} `json:"held_back"`
	} `json:"sync"`
	Recent []struct {
		Accept bool `json:"accept"`
	} `json:"recent"`
}

// waitView polls the daemon's status.json until ok says yes.
func waitView(t *testing.T, e *env, what string, timeout time.Duration, ok func(view) bool) view {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var raw []byte
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/status.json", e.port))
		if err == nil {
			raw, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			var v view
			if json.Unmarshal(raw, &v) == nil && ok(v) {
				return v
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v; last status.json:\n%s", what, timeout, raw)
	return view{}
}

func scrapeMetrics(t *testing.T, e *env) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", e.port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
