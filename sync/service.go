package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/config"
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

// Options are New's optional dependencies.
type Options struct {
	Logger *slog.Logger
	HTTP   *http.Client // nil = a client with sane transport timeouts
	Clock  Clock        // nil = the real clock
	// OnSync, if set, hears the outcome of every scheduled sync and how
	// long it took (the metrics).
	OnSync func(err error, took time.Duration)
}

// New builds the Service from cfg over st. It reads the API key, client
// secret and events token now (so a missing secret fails start-up with the
// config key named); the refresh token file is read only when the store has
// no refresh token yet.
func New(cfg *config.Config, st *store.Store, o Options) (*Service, error) {
	return newService(cfg, StoreCache(st), st, o)
}

func newService(cfg *config.Config, cache Cache, outbox Outbox, o Options) (*Service, error) {
	log, clk := orDiscard(o.Logger), orReal(o.Clock)
	hc := o.HTTP
	if hc == nil {
		hc = newHTTPClient(cfg)
	}
	secret := func(s config.Secret, required bool) (string, error) {
		v, warn, err := config.ReadSecret(s)
		if warn != "" {
			log.Warn(warn)
		}
		if err != nil {
			return "", err
		}
		if v == "" && required {
			return "", fmt.Errorf("%s (or $%s) is required", s.Key, s.Env)
		}
		return v, nil
	}
	apiKey, err := secret(cfg.APIKey(), true)
	if err != nil {
		return nil, err
	}
	// The token renewal proves the app with its secret too, not only the exchange.
	clientSecret, err := secret(cfg.ClientSecret(), true)
	if err != nil {
		return nil, err
	}
	if cfg.BitBadges.ClientID == "" {
		return nil, errors.New("bitbadges.client_id is required")
	}
	trusted := &TrustedTime{Cache: cache}
	// The pre-fetch's page bound and cycle check watch its requests.
	guarded := *hc
	guarded.Transport = GuardTransport(hc.Transport)
	hc = &guarded
	client := &bitbadges.Client{
		APIURL: cfg.BitBadges.APIURL, ClientID: cfg.BitBadges.ClientID,
		APIKey: apiKey, ClientSecret: clientSecret,
		HTTP: hc, RequestTimeout: cfg.BitBadges.RequestTimeout,
		PageRetries: 2, OnServerTime: trusted.Observe, Logger: log,
	}
	refreshSecret := cfg.RefreshToken()
	syncer := &Syncer{Client: client, Cache: cache, Trusted: trusted, Logger: log, Clock: clk,
		MaxPages: cfg.BitBadges.SyncMaxPages, MaxDuration: cfg.BitBadges.SyncMaxDuration,
		HoldBack:            HoldBackPolicy{MaxDrop: cfg.BitBadges.HoldBackDrop, MinCodes: cfg.BitBadges.HoldBackMinCodes},
		InitialRefreshToken: func() (string, error) { return secret(refreshSecret, false) }}
	s := &Service{
		Client: client, Syncer: syncer, Trusted: trusted, cache: cache, outbox: outbox, clock: clk,
		Scheduler: &Scheduler{Sync: syncer.Sync, Schedule: cfg.BitBadges.SyncSchedule,
			MaxBackoff: cfg.BitBadges.MaxBackoff, Clock: clk, Logger: log, OnResult: o.OnSync},
	}
	if cfg.Access.Gated() {
		syncer.Require = cfg.Access.Require
		s.Balances = &BalanceChecker{Client: client}
	}
	if cfg.BitBadges.OnlineExchange {
		s.Exchanger = &Exchanger{Client: client, Budget: cfg.BitBadges.ExchangeBudget, Logger: log}
	}
	if s.Uploader, err = buildUploader(cfg, outbox, hc, clk, log); err != nil {
		return nil, err
	}
	return s, nil
}

// NewUploader builds the event uploader from cfg's events section, or
// returns nil when events.url is empty. It needs no BitBadges credentials:
// a display-only or import-only kiosk uploads its events too.
func NewUploader(cfg *config.Config, outbox Outbox, o Options) (*Uploader, error) {
	return buildUploader(cfg, outbox, o.HTTP, orReal(o.Clock), orDiscard(o.Logger))
}

func buildUploader(cfg *config.Config, outbox Outbox, hc *http.Client, clk Clock, log *slog.Logger) (*Uploader, error) {
	if cfg.Events.URL == "" {
		return nil, nil
	}
	tok, warn, err := config.ReadSecret(cfg.EventsToken())
	if warn != "" {
		log.Warn(warn)
	}
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = newHTTPClient(cfg)
	}
	return &Uploader{Outbox: outbox, BatchSize: cfg.Events.BatchSize,
		Interval: cfg.Events.UploadInterval, MaxBackoff: cfg.BitBadges.MaxBackoff, Clock: clk, Logger: log,
		Transport: &HTTPTransport{URL: cfg.Events.URL, Token: tok, HTTP: hc, Timeout: cfg.BitBadges.RequestTimeout}}, nil
}

func newHTTPClient(cfg *config.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.BitBadges.RequestTimeout,
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
