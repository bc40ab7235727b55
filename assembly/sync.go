package assembly

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync"
)

// NewSync builds the sync service from the bitbadges: and events: sections
// over st. It reads the API key, client secret and events token now (so a
// missing secret fails start-up with the config key named); the refresh
// token file is read only when the store has no refresh token yet.
// onSync (nil: none) hears every scheduled sync's outcome.
func NewSync(cfg *config.Config, st *store.Store, log *slog.Logger, onSync func(error, time.Duration)) (*sync.Service, error) {
	log = orDiscard(log)
	secret := secretReader(log)
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
	ev, err := eventsConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	b := cfg.BitBadges
	refresh := cfg.RefreshToken()
	c := sync.Config{APIURL: b.APIURL, ClientID: b.ClientID, APIKey: apiKey, ClientSecret: clientSecret,
		RefreshToken:   func() (string, error) { return secret(refresh, false) },
		RequestTimeout: b.RequestTimeout, Schedule: b.SyncSchedule, MaxBackoff: b.MaxBackoff,
		MaxPages: b.SyncMaxPages, MaxDuration: b.SyncMaxDuration,
		HoldBack:       sync.HoldBackPolicy{MaxDrop: b.HoldBackDrop, MinCodes: b.HoldBackMinCodes},
		OnlineExchange: b.OnlineExchange, ExchangeBudget: b.ExchangeBudget,
		Require: Requirements(cfg.Access.Require), Events: ev}
	return sync.New(c, st, sync.Options{Logger: log, OnSync: onSync})
}

// eventsConfig is the events: section with its token read; no URL, no
// token read.
func eventsConfig(cfg *config.Config, log *slog.Logger) (sync.EventsConfig, error) {
	e := cfg.Events
	if e.URL == "" {
		return sync.EventsConfig{}, nil
	}
	tok, err := secretReader(log)(cfg.EventsToken(), false)
	if err != nil {
		return sync.EventsConfig{}, err
	}
	return sync.EventsConfig{URL: e.URL, Token: tok, BatchSize: e.BatchSize, UploadInterval: e.UploadInterval,
		MaxBackoff: cfg.BitBadges.MaxBackoff, RequestTimeout: cfg.BitBadges.RequestTimeout}, nil
}

// secretReader reads secrets, logging the warning of a world-readable
// file; an empty required one is an error naming its key.
func secretReader(log *slog.Logger) func(s config.Secret, required bool) (string, error) {
	return func(s config.Secret, required bool) (string, error) {
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
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
