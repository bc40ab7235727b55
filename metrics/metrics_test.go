package metrics

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kioskd/kioskd/verify"
)

func TestVerdicts(t *testing.T) {
	m := New()
	tests := []struct {
		reason string
		accept bool
		// the series that must have counted it
		wantReason, wantResult string
	}{
		{"ok", true, "ok", "accept"},
		{"already-used", false, "already-used", "reject"},
		{"unknown", false, "unknown", "reject"},
		{"stale-cache", true, "stale-cache", "accept"},
		// Not in the vocabulary: counted as invalid, never as an entry.
		{"bogus", true, "invalid", "reject"},
		{"", false, "invalid", "reject"},
	}
	for _, tc := range tests {
		before := testutil.ToFloat64(m.verdicts.WithLabelValues(tc.wantReason, tc.wantResult))
		m.Verdict(tc.reason, tc.accept)
		after := testutil.ToFloat64(m.verdicts.WithLabelValues(tc.wantReason, tc.wantResult))
		if after != before+1 {
			t.Errorf("Verdict(%q, %v): %s/%s went %v -> %v", tc.reason, tc.accept, tc.wantReason, tc.wantResult, before, after)
		}
	}
}

// TestNoSecretInLabels is the metrics half of "never a code in a label": a
// caller that passes a code (or anything else) as a reason cannot create a
// series for it, and the vocabulary stays bounded.
func TestNoSecretInLabels(t *testing.T) {
	m := New()
	code := strings.Repeat("ab", 32)
	m.Verdict(code, true)
	m.Verdict("secret-api-key", false)
	body := scrape(t, m)
	for _, s := range []string{code, "secret-api-key"} {
		if strings.Contains(body, s) {
			t.Fatalf("%q leaked into /metrics", s)
		}
	}
	want := 2*len(verify.Reasons()) + 1
	if n := testutil.CollectAndCount(m.verdicts); n != want {
		t.Fatalf("kioskd_verdicts_total has %d series, want %d (fixed vocabulary)", n, want)
	}
}

func TestGaugesAndSync(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	m := newWithClock(func() time.Time { return now })

	if age := m.cacheAge(); !math.IsInf(age, 1) {
		t.Fatalf("age before any sync = %v, want +Inf", age)
	}
	m.CameraUp(true)
	m.CacheSize(100000)
	m.EventsPending(7)
	m.Frame()
	m.Frame()
	m.DecodeLatency(3 * time.Millisecond)
	m.DoubleEntry()
	m.SyncResult(false, 2*time.Second)
	if v := testutil.ToFloat64(m.lastSyncTS); v != 0 {
		t.Fatalf("failed sync set last sync to %v", v)
	}
	m.SyncResult(true, 1500*time.Millisecond)
	now = now.Add(90 * time.Second)

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"camera_up", testutil.ToFloat64(m.cameraUp), 1},
		{"cache_codes", testutil.ToFloat64(m.cacheCodes), 100000},
		{"events_pending", testutil.ToFloat64(m.eventsPending), 7},
		{"frames", testutil.ToFloat64(m.frames), 2},
		{"double_entries", testutil.ToFloat64(m.doubleEntries), 1},
		{"syncs ok", testutil.ToFloat64(m.syncs.WithLabelValues("ok")), 1},
		{"syncs error", testutil.ToFloat64(m.syncs.WithLabelValues("error")), 1},
		{"last sync ts", testutil.ToFloat64(m.lastSyncTS), float64(now.Add(-90 * time.Second).Unix())},
		{"cache age", m.cacheAge(), 90},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	m.CameraUp(false)
	if v := testutil.ToFloat64(m.cameraUp); v != 0 {
		t.Errorf("camera_up after CameraUp(false) = %v", v)
	}
	// The clock set back below the last sync: age is 0, not negative.
	now = now.Add(-time.Hour)
	if age := m.cacheAge(); age != 0 {
		t.Errorf("age with clock set back = %v, want 0", age)
	}
}

func TestHandlerExposesEverySeries(t *testing.T) {
	m := New()
	m.DecodeLatency(2 * time.Millisecond)
	m.SyncResult(true, time.Second)
	m.FramesDropped(3)
	m.FramesDropped(2)
	m.DeclareInput("camera")
	m.VerdictLatency("camera", 40*time.Millisecond)
	body := scrape(t, m)
	for _, name := range []string{
		"kioskd_verdicts_total{reason=\"ok\",result=\"accept\"} 0",
		"kioskd_verdicts_total{reason=\"already-used\",result=\"reject\"} 0",
		"kioskd_decode_duration_seconds_bucket",
		"kioskd_frames_total 0",
		"kioskd_frames_dropped_total 5",
		"kioskd_verdict_latency_seconds_bucket{input=\"camera\",le=\"0.04\"} 1",
		"kioskd_verdict_latency_seconds_bucket{input=\"camera\",le=\"0.02\"} 0",
		"kioskd_verdict_latency_seconds_count{input=\"camera\"} 1",
		"kioskd_camera_up 0",
		"kioskd_cache_codes 0",
		"kioskd_cache_age_seconds",
		"kioskd_cache_last_sync_timestamp_seconds",
		"kioskd_syncs_total{result=\"ok\"} 1",
		"kioskd_sync_duration_seconds_count 1",
		"kioskd_events_pending 0",
		"kioskd_fleet_double_entries_total 0",
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// Each input's verdict latency is its own series: a scanner's never folds
// into the camera's, a declared input's series exists before its first
// verdict, and an input never declared makes no series at all.
func TestVerdictLatencyByInput(t *testing.T) {
	m := New()
	for _, in := range []string{"camera", "door", "desk-scanner"} {
		m.DeclareInput(in)
	}
	m.VerdictLatency("camera", 120*time.Millisecond)
	m.VerdictLatency("door", 3*time.Millisecond)
	m.VerdictLatency("door", 4*time.Millisecond)
	m.VerdictLatency("not-declared", time.Millisecond)
	body := scrape(t, m)
	for _, c := range []struct {
		line string
		want bool
	}{
		{`kioskd_verdict_latency_seconds_count{input="camera"} 1`, true},
		{`kioskd_verdict_latency_seconds_bucket{input="camera",le="0.08"} 0`, true},
		{`kioskd_verdict_latency_seconds_count{input="door"} 2`, true},
		{`kioskd_verdict_latency_seconds_bucket{input="door",le="0.005"} 2`, true},
		{`kioskd_verdict_latency_seconds_count{input="desk-scanner"} 0`, true},
		{`input="not-declared"`, false},
	} {
		if got := strings.Contains(body, c.line); got != c.want {
			t.Errorf("/metrics has %s: %v, want %v", c.line, got, c.want)
		}
	}
}

// Two Metrics never share state: no global registry.
func TestInstancesAreIndependent(t *testing.T) {
	a, b := New(), New()
	a.Frame()
	if v := testutil.ToFloat64(b.frames); v != 0 {
		t.Fatalf("second instance saw the first's frame: %v", v)
	}
}

func TestNilIsNoop(t *testing.T) {
	var m *Metrics
	m.Verdict("ok", true)
	m.DecodeLatency(time.Millisecond)
	m.Frame()
	m.CameraUp(true)
	m.CacheSize(1)
	m.LastSync(time.Now())
	m.SyncResult(true, time.Second)
	m.EventsPending(1)
	m.DoubleEntry()
	m.FramesDropped(1)
	m.DeclareInput("camera")
	m.VerdictLatency("camera", time.Millisecond)
	if err := m.Register(nil); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("nil Metrics handler: %d", rec.Code)
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func BenchmarkVerdict(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.Verdict("already-used", false)
	}
}

func BenchmarkFrameAndDecode(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.Frame()
		m.DecodeLatency(3 * time.Millisecond)
	}
}

// TestSyncGauges: the sync's live state (a pre-fetch under way, a held-back
// snapshot) is read at each scrape.
func TestSyncGauges(t *testing.T) {
	m := New()
	body := scrape(t, m)
	for _, want := range []string{"kioskd_sync_in_progress 0", "kioskd_sync_pages 0", "kioskd_sync_held_back 0",
		"kioskd_sync_held_back_codes 0", "kioskd_sync_duplicate_records 0"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("no %q before any sync source", want)
		}
	}
	tests := []struct {
		state SyncState
		want  []string
	}{
		{SyncState{Running: true, Pages: 1234}, []string{"kioskd_sync_in_progress 1", "kioskd_sync_pages 1234", "kioskd_sync_held_back 0"}},
		{SyncState{HeldBack: true, HeldBackCodes: 20, Duplicates: 7}, []string{"kioskd_sync_in_progress 0",
			"kioskd_sync_held_back 1", "kioskd_sync_held_back_codes 20", "kioskd_sync_duplicate_records 7"}},
	}
	for _, tc := range tests {
		m.SyncSource(func() SyncState { return tc.state })
		body := scrape(t, m)
		for _, want := range tc.want {
			if !strings.Contains(body, want+"\n") {
				t.Errorf("state %+v: no %q in\n%s", tc.state, want, grepLines(body, "kioskd_sync"))
			}
		}
	}
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
