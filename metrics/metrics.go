// Package metrics exports kioskd's Prometheus metrics.
//
// A Metrics owns its own prometheus.Registry (never the global default one),
// so two kiosks in one test process, or a test next to a running daemon, never
// share counters. The pipeline calls a few plain methods (Verdict, Frame,
// DecodeLatency, ...) and Handler serves the registry at /metrics.
//
// Every series is named kioskd_*. Label values come only from fixed
// vocabularies: a verdict's reason is one of verify.Reasons() (anything else
// is counted as "invalid"), its result is accept or reject, a sync's result
// is ok or error. Nothing a visitor shows the camera, and no secret, can ever
// become a label value, which also keeps the number of series bounded.
//
// Ages are exported as timestamps (kioskd_cache_last_sync_timestamp_seconds)
// as Prometheus prefers, and also as kioskd_cache_age_seconds, computed at
// scrape time, for dashboards and alerts that want a plain number.
package metrics

import (
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kioskd/kioskd/verify"
)

// Label values outside the fixed vocabularies.
const (
	resultAccept = "accept"
	resultReject = "reject"
	resultOK     = "ok"
	resultError  = "error"
	// invalidReason counts a reason string that is not in verify.Reasons().
	invalidReason = "invalid"
)

// Metrics is one kiosk's set of collectors. Its methods are safe for
// concurrent use; a nil *Metrics is a valid no-op (metrics disabled).
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	reasons map[string]bool

	verdicts      *prometheus.CounterVec
	decode        prometheus.Histogram
	frames        prometheus.Counter
	dropped       prometheus.Counter
	verdictLat    *prometheus.HistogramVec
	cameraUp      prometheus.Gauge
	cacheCodes    prometheus.Gauge
	lastSyncTS    prometheus.Gauge
	syncs         *prometheus.CounterVec
	syncDuration  prometheus.Histogram
	eventsPending prometheus.Gauge
	doubleEntries prometheus.Counter

	mu       sync.Mutex
	inputs   map[string]bool  // the inputs declared (DeclareInput): verdictLat's label values
	lastSync time.Time        // zero until the first successful sync (or SetLastSync)
	syncSrc  func() SyncState // nil until SyncSource
}

// SyncState is the sync's live state, read at every scrape.
type SyncState struct {
	Running bool
	Pages   int // pages requested by the sync under way
	// HeldBack is set while a complete snapshot is held back (the old cache
	// serving); HeldBackCodes is its size.
	HeldBack      bool
	HeldBackCodes int
	Duplicates    int // records repeated in the last committed sync
}

// New returns a Metrics with every kioskd series registered (at zero) on a
// fresh registry, together with the Go runtime and process collectors.
func New() *Metrics { return newWithClock(time.Now) }

func newWithClock(now func() time.Time) *Metrics {
	m := &Metrics{
		reg:     prometheus.NewRegistry(),
		now:     now,
		reasons: map[string]bool{},
		inputs:  map[string]bool{},
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_verdicts_total",
			Help: "Codes decided, by reason (verify's vocabulary) and result (accept or reject).",
		}, []string{"reason", "result"}),
		decode: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kioskd_decode_duration_seconds",
			Help: "Time to look for and decode a QR code in one camera frame.",
			// 0.5 ms to 256 ms: a Pi 4 decodes a 640x480 frame in a few ms,
			// a Pi Zero in tens.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 10),
		}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kioskd_frames_total",
			Help: "Camera frames taken into the pipeline; rate() gives the frame rate.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kioskd_frames_dropped_total",
			Help: "Camera frames dropped unseen because the lane was still decoding an older one (it decodes the newest next).",
		}),
		verdictLat: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kioskd_verdict_latency_seconds",
			Help: "Time to the verdict on the outputs, by input: for the camera from the capture of the frame " +
				"showing the code, for a scanner from the end of its read.",
			// 5 ms to ~10 s: a frame period plus a decode on a Pi, up to an
			// online check on a slow link.
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"input"}),
		cameraUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kioskd_camera_up",
			Help: "1 while the camera delivers frames, 0 while it is down or being reopened.",
		}),
		cacheCodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kioskd_cache_codes",
			Help: "Codes in the local cache.",
		}),
		lastSyncTS: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kioskd_cache_last_sync_timestamp_seconds",
			Help: "Unix time of the last successful sync of the cache; 0 before the first.",
		}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kioskd_syncs_total",
			Help: "Sync attempts with the BitBadges API, by result (ok or error).",
		}, []string{"result"}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kioskd_sync_duration_seconds",
			Help: "Duration of sync attempts, successful or not.",
			// 0.1 s to ~100 s: a few pages to a 100k-code pre-fetch on a slow link.
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 11),
		}),
		eventsPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kioskd_events_pending",
			Help: "Verdict events recorded locally and not yet uploaded.",
		}),
		doubleEntries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kioskd_fleet_double_entries_total",
			Help: "Codes found redeemed at two kiosks of the fleet (seen after the fact, while offline).",
		}),
	}
	cacheAge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kioskd_cache_age_seconds",
		Help: "Seconds since the last successful sync; +Inf before the first.",
	}, m.cacheAge)

	syncGauge := func(name, help string, v func(SyncState) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return v(m.syncState()) })
	}
	m.reg.MustRegister(
		m.verdicts, m.decode, m.frames, m.dropped, m.verdictLat, m.cameraUp, m.cacheCodes, m.lastSyncTS,
		cacheAge, m.syncs, m.syncDuration, m.eventsPending, m.doubleEntries,
		syncGauge("kioskd_sync_in_progress", "1 while a pre-fetch runs.",
			func(s SyncState) float64 { return b2f(s.Running) }),
		syncGauge("kioskd_sync_pages", "Pages requested by the pre-fetch under way; 0 when none runs.",
			func(s SyncState) float64 { return float64(s.Pages) }),
		syncGauge("kioskd_sync_held_back", "1 while a complete snapshot is held back (it would have emptied or "+
			"shrunk the cache too far); the old cache serves until the operator applies it.",
			func(s SyncState) float64 { return b2f(s.HeldBack) }),
		syncGauge("kioskd_sync_held_back_codes", "Codes in the held-back snapshot; 0 when none is held back.",
			func(s SyncState) float64 { return float64(s.HeldBackCodes) }),
		syncGauge("kioskd_sync_duplicate_records", "Records the last committed pre-fetch received more than once.",
			func(s SyncState) float64 { return float64(s.Duplicates) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Every series exists from the start, so rate() and absent() behave
	// before the first scan of the day.
	for _, r := range verify.Reasons() {
		name := r.String()
		m.reasons[name] = true
		m.verdicts.WithLabelValues(name, resultAccept)
		m.verdicts.WithLabelValues(name, resultReject)
	}
	m.verdicts.WithLabelValues(invalidReason, resultReject)
	m.syncs.WithLabelValues(resultOK)
	m.syncs.WithLabelValues(resultError)
	return m
}

// Handler serves the registry in the Prometheus exposition format; mount it
// at /metrics.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg, // counts its own errors in promhttp_* series
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// Register adds another collector (e.g. the fleet's) to this registry.
func (m *Metrics) Register(c prometheus.Collector) error {
	if m == nil {
		return nil
	}
	return m.reg.Register(c)
}

// Gatherer exposes the registry for tests and for `kioskd status`.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Verdict counts one decision. reason is a verify.Reason's String(); any other
// string is counted under "invalid" (and never becomes a label value).
func (m *Metrics) Verdict(reason string, accept bool) {
	if m == nil {
		return
	}
	if !m.reasons[reason] {
		reason = invalidReason
		accept = false // an unrecognised decision is never reported as an entry
	}
	result := resultReject
	if accept {
		result = resultAccept
	}
	m.verdicts.WithLabelValues(reason, result).Inc()
}

// DecodeLatency records the time spent decoding one frame.
func (m *Metrics) DecodeLatency(d time.Duration) {
	if m == nil {
		return
	}
	m.decode.Observe(d.Seconds())
}

// Frame counts one camera frame.
func (m *Metrics) Frame() {
	if m == nil {
		return
	}
	m.frames.Inc()
}

// FramesDropped counts n frames dropped unseen.
func (m *Metrics) FramesDropped(n uint64) {
	if m == nil {
		return
	}
	m.dropped.Add(float64(n))
}

// DeclareInput makes name (the camera, or a scanner input of the config) a
// value of the input label, its series existing from the start. Only
// declared inputs are labelled, so the config bounds the series.
func (m *Metrics) DeclareInput(name string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.inputs[name] = true
	m.mu.Unlock()
	m.verdictLat.WithLabelValues(name)
}

// VerdictLatency records one verdict's time to the outputs at input: from
// frame capture for the camera, from the end of the read for a scanner. A
// latency at an input not declared is not recorded (it would make an
// unbounded label value); the assembly declares every input it opens.
func (m *Metrics) VerdictLatency(input string, d time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	ok := m.inputs[input]
	m.mu.Unlock()
	if !ok {
		return
	}
	m.verdictLat.WithLabelValues(input).Observe(d.Seconds())
}

// CameraUp sets whether the camera is delivering frames.
func (m *Metrics) CameraUp(up bool) {
	if m == nil {
		return
	}
	m.cameraUp.Set(b2f(up))
}

// CacheSize sets the number of codes in the cache.
func (m *Metrics) CacheSize(n int) {
	if m == nil {
		return
	}
	m.cacheCodes.Set(float64(n))
}

// LastSync sets the time of the last successful sync (e.g. read from the
// store at start-up, before any sync of this run).
func (m *Metrics) LastSync(t time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.lastSync = t
	m.mu.Unlock()
	if t.IsZero() {
		m.lastSyncTS.Set(0)
		return
	}
	m.lastSyncTS.Set(float64(t.UnixNano()) / 1e9)
}

// SyncResult counts one sync attempt and its duration; a successful one also
// sets the last-sync time to now.
func (m *Metrics) SyncResult(ok bool, d time.Duration) {
	if m == nil {
		return
	}
	m.syncDuration.Observe(d.Seconds())
	if !ok {
		m.syncs.WithLabelValues(resultError).Inc()
		return
	}
	m.syncs.WithLabelValues(resultOK).Inc()
	m.LastSync(m.now())
}

// EventsPending sets the number of events waiting for upload.
func (m *Metrics) EventsPending(n int) {
	if m == nil {
		return
	}
	m.eventsPending.Set(float64(n))
}

// DoubleEntry counts one code redeemed at two kiosks.
func (m *Metrics) DoubleEntry() {
	if m == nil {
		return
	}
	m.doubleEntries.Inc()
}

// SyncSource sets where the sync gauges read the sync's state.
func (m *Metrics) SyncSource(f func() SyncState) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.syncSrc = f
	m.mu.Unlock()
}

func (m *Metrics) syncState() SyncState {
	m.mu.Lock()
	f := m.syncSrc
	m.mu.Unlock()
	if f == nil {
		return SyncState{}
	}
	return f()
}

func (m *Metrics) cacheAge() float64 {
	m.mu.Lock()
	last := m.lastSync
	m.mu.Unlock()
	if last.IsZero() {
		return math.Inf(1)
	}
	age := m.now().Sub(last).Seconds()
	if age < 0 { // the clock was set back after the sync
		return 0
	}
	return age
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
