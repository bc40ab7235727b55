package config

import (
	"time"
)

// Events is where verdict events are uploaded.
type Events struct {
	// URL receives batches of events by HTTPS POST; empty = keep them local.
	URL       string `yaml:"url"`
	TokenFile string `yaml:"token_file"` // bearer token, or env KIOSKD_EVENTS_TOKEN
	// MaxPending bounds the outbox; when full the oldest events are dropped (and counted).
	MaxPending     int           `yaml:"max_pending"`
	UploadInterval time.Duration `yaml:"upload_interval"`
	BatchSize      int           `yaml:"batch_size"`
}

func defaultEvents() Events {
	return Events{MaxPending: 100000, UploadInterval: time.Minute, BatchSize: 100}
}

// EventsToken says where the events uploader's bearer token comes from.
func (c *Config) EventsToken() Secret {
	return Secret{Key: "events.token_file", Name: c.Events.TokenFile, File: c.Resolve(c.Events.TokenFile), Env: "KIOSKD_EVENTS_TOKEN"}
}

func (e *Events) validate() error {
	if e.URL != "" {
		if err := checkURL("events.url", e.URL, true); err != nil {
			return err
		}
	}
	if e.MaxPending < 100 {
		return keyErr("events.max_pending", "must be at least 100, not %d", e.MaxPending)
	}
	if e.UploadInterval < time.Second {
		return keyErr("events.upload_interval", "must be at least 1s")
	}
	if e.BatchSize < 1 || e.BatchSize > 10000 {
		return keyErr("events.batch_size", "must be between 1 and 10000")
	}
	return nil
}
