package sync

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
)

// Service is the sync side of kioskd, wired from the configuration: the
// scheduled pre-fetch, the online exchange and the event upload.
type Service struct {
	Client    *bitbadges.Client
	Syncer    *Syncer
	Scheduler *Scheduler
	// Exchanger is nil unless bitbadges.online_exchange is true.
	Exchanger *Exchanger
	// Balances re-checks a visitor's badges online; nil unless access
	// requirements are configured.
	Balances *BalanceChecker
	// Uploader is nil when events.url is empty (events stay local). A kiosk
	// without BitBadges credentials has no Service: see NewUploader.
	Uploader *Uploader
	Trusted  *TrustedTime

	cache  Cache
	outbox Outbox
	clock  Clock
}

// Config is what New wires: kioskd's bitbadges: and events: sections, with
// the secrets already read (the caller reads them, naming their config keys
// in its errors). A Config holds secrets: it is never logged.
type Config struct {
	APIURL   string
	ClientID string
	// APIKey and ClientSecret prove the app (the client secret also renews
	// the refresh token).
	APIKey, ClientSecret string
	// RefreshToken reads the app owner's refresh token; it is called only
	// when the store holds none yet (a first sync), and may return "".
	RefreshToken func() (string, error)
	// RequestTimeout bounds one API request (and an event upload).
	RequestTimeout time.Duration
	// Schedule is the pre-fetch's cron spec; "" = DefaultSchedule.
	Schedule   string
	MaxBackoff time.Duration
	// MaxPages and MaxDuration bound one pre-fetch; 0 = derived defaults.
	MaxPages    int
	MaxDuration time.Duration
	HoldBack    HoldBackPolicy
	// OnlineExchange makes Service.Exchanger, spending at most
	// ExchangeBudget per code.
	OnlineExchange bool
	ExchangeBudget time.Duration
	// Require are the access requirements whose owners each sync fetches;
	// with any, Service.Balances re-checks a visitor online.
	Require []store.Requirement
	Events  EventsConfig
}

// EventsConfig is the event upload (events: section); no URL, no upload.
type EventsConfig struct {
	URL   string
	Token string // bearer token; "" sends none
	// BatchSize events per request, every UploadInterval.
	BatchSize      int
	UploadInterval time.Duration
	// MaxBackoff and RequestTimeout as for the sync.
	MaxBackoff, RequestTimeout time.Duration
}

// Options are New's optional dependencies.
type Options struct {
	Logger *slog.Logger
	HTTP   *http.Client // nil = a client with sane transport timeouts
	Clock  Clock        // nil = the real clock
	// OnSync, if set, hears the outcome of every scheduled sync and how
	// long it took (the metrics).
	OnSync func(err error, took time.Duration)
}

// New builds the Service from c over st.
func New(c Config, st *store.Store, o Options) (*Service, error) {
	return newService(c, StoreCache(st), st, o)
}

func newService(c Config, cache Cache, outbox Outbox, o Options) (*Service, error) {
	log, clk := orDiscard(o.Logger), orReal(o.Clock)
	if c.ClientID == "" {
		return nil, errors.New("sync: no client id")
	}
	hc := o.HTTP
	if hc == nil {
		hc = newHTTPClient(c.RequestTimeout)
	}
	trusted := &TrustedTime{Cache: cache}
	// The pre-fetch's page bound and cycle check watch its requests.
	guarded := *hc
	guarded.Transport = GuardTransport(hc.Transport)
	hc = &guarded
	client := &bitbadges.Client{
		APIURL: c.APIURL, ClientID: c.ClientID,
		APIKey: c.APIKey, ClientSecret: c.ClientSecret,
		HTTP: hc, RequestTimeout: c.RequestTimeout,
		PageRetries: 2, OnServerTime: trusted.Observe, Logger: log,
	}
	refresh := c.RefreshToken
	if refresh == nil {
		refresh = func() (string, error) { return "", nil }
	}
	syncer := &Syncer{Client: client, Cache: cache, Trusted: trusted, Logger: log, Clock: clk,
		MaxPages: c.MaxPages, MaxDuration: c.MaxDuration, HoldBack: c.HoldBack, InitialRefreshToken: refresh}
	s := &Service{
		Client: client, Syncer: syncer, Trusted: trusted, cache: cache, outbox: outbox, clock: clk,
		Scheduler: &Scheduler{Sync: syncer.Sync, Schedule: c.Schedule,
			MaxBackoff: c.MaxBackoff, Clock: clk, Logger: log, OnResult: o.OnSync},
	}
	if len(c.Require) > 0 {
		syncer.Require = c.Require
		s.Balances = &BalanceChecker{Client: client}
	}
	if c.OnlineExchange {
		s.Exchanger = &Exchanger{Client: client, Budget: c.ExchangeBudget, Logger: log}
	}
	s.Uploader = buildUploader(c.Events, outbox, hc, clk, log)
	return s, nil
}

// NewUploader builds the event uploader, or returns nil when c.URL is
// empty. It needs no BitBadges credentials: a display-only or import-only
// kiosk uploads its events too.
func NewUploader(c EventsConfig, outbox Outbox, o Options) *Uploader {
	return buildUploader(c, outbox, o.HTTP, orReal(o.Clock), orDiscard(o.Logger))
}

func buildUploader(c EventsConfig, outbox Outbox, hc *http.Client, clk Clock, log *slog.Logger) *Uploader {
	if c.URL == "" {
		return nil
	}
	if hc == nil {
		hc = newHTTPClient(c.RequestTimeout)
	}
	return &Uploader{Outbox: outbox, BatchSize: c.BatchSize,
		Interval: c.UploadInterval, MaxBackoff: c.MaxBackoff, Clock: clk, Logger: log,
		Transport: &HTTPTransport{URL: c.URL, Token: c.Token, HTTP: hc, Timeout: c.RequestTimeout}}
}

func newHTTPClient(requestTimeout time.Duration) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}}
}

// Run runs the scheduler and the uploader until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	var wg stdsync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = s.Scheduler.Run(ctx) })
	if s.Uploader != nil {
		wg.Go(func() { errs[1] = s.Uploader.Run(ctx) })
	}
	wg.Wait()
	s.Syncer.Close() // an interrupted pre-fetch's snapshot is not kept across runs
	return errors.Join(errs...)
}

// Status is the sync side's state for `kioskd status`, logs and metrics.
// It never holds a secret.
type Status struct {
	LastSync      time.Time     // when the serving cache was complete (survives restarts; zero: never)
	Age           time.Duration // since LastSync, by the device clock; 0 when never synced
	Codes         int           // records in the serving cache
	ServerTime    time.Time     // the last server Date of a successful answer seen by this process
	LastAttempt   time.Time
	LastError     string    // of the last attempt; "" when it succeeded
	LastErrorKind string    // ErrorKind: unauthorized, credits, rate-limited, network, …
	Failures      int       // consecutive failed syncs
	NextSync      time.Time // never zero once the scheduler runs
	Syncing       bool
	SyncingSince  time.Time // when the pre-fetch under way began
	SyncPages     int       // pages it has requested so far
	SyncRecords   int       // records it has received so far
	// HeldBack is a complete snapshot the last sync did not commit (it would
	// have emptied or shrunk the cache too far); nil when none.
	HeldBack *HeldBack
	// Of the last committed sync of this process: records received and how
	// many of them repeated a code.
	LastRecords, LastDuplicates int
	PendingEvents               int
	EventsSent                  uint64
	UploadError                 string
}

// Status gathers the current state. A store error is reported in LastError
// rather than failing the whole status.
func (s *Service) Status() Status {
	st := s.Scheduler.State()
	out := Status{ServerTime: s.Trusted.Latest(), LastAttempt: st.LastAttempt, LastError: st.LastError,
		LastErrorKind: st.LastErrorKind, Failures: st.Failures, NextSync: st.NextSync, Syncing: st.Running,
		HeldBack: s.Syncer.HeldBack(), LastRecords: st.LastResult.Records, LastDuplicates: st.LastResult.Duplicates}
	if p := s.Syncer.Progress(); p.Running {
		// Also a `kioskd sync` outside the scheduler.
		out.Syncing, out.SyncingSince, out.SyncPages, out.SyncRecords = true, p.Since, p.Pages, p.Records
	}
	if out.NextSync.IsZero() {
		out.NextSync = s.clock.Now() // the scheduler is starting: its first sync is due now
	}
	if m, err := s.cache.Meta(); err == nil {
		out.LastSync, out.Codes = m.LastSync, m.Count
		if !m.LastSync.IsZero() {
			out.Age = max(0, s.clock.Now().Sub(m.LastSync))
		}
	} else if out.LastError == "" {
		out.LastError, out.LastErrorKind = "reading the cache: "+err.Error(), "store"
	}
	if s.outbox != nil {
		if n, err := s.outbox.PendingCount(); err == nil {
			out.PendingEvents = n
		}
	}
	if s.Uploader != nil {
		us := s.Uploader.Stats()
		out.EventsSent, out.UploadError = us.Sent, us.LastError
	}
	return out
}
