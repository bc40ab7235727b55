package config

import (
	"time"

	"github.com/robfig/cron/v3"
)

// BitBadges is how kioskd reaches the BitBadges API.
type BitBadges struct {
	APIURL           string `yaml:"api_url"`
	ClientID         string `yaml:"client_id"`
	APIKeyFile       string `yaml:"api_key_file"`       // or env KIOSKD_BITBADGES_API_KEY
	ClientSecretFile string `yaml:"client_secret_file"` // or env KIOSKD_BITBADGES_CLIENT_SECRET
	RefreshTokenFile string `yaml:"refresh_token_file"` // the owner's first refresh token; the rotated one is kept in the store
	// SyncSchedule is a robfig/cron spec (five fields, or @every 5m).
	SyncSchedule string `yaml:"sync_schedule"`
	// OnlineExchange lets an unknown code be exchanged online within ExchangeBudget.
	OnlineExchange bool          `yaml:"online_exchange"`
	ExchangeBudget time.Duration `yaml:"exchange_budget"`
	// RequestTimeout bounds one HTTP request of a sync.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// MaxBackoff caps the wait between failed sync attempts.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// SyncMaxPages and SyncMaxDuration bound one pre-fetch; 0 = auto (3× the
	// last complete pre-fetch plus a margin; 20,000 pages and 30 min before any).
	SyncMaxPages    int           `yaml:"sync_max_pages"`
	SyncMaxDuration time.Duration `yaml:"sync_max_duration"`
	// HoldBackDrop is the fraction of a cache of at least HoldBackMinCodes
	// codes a complete pre-fetch may drop before it is held back (the old
	// cache kept) until the operator applies it; 1 = never hold back. An
	// empty pre-fetch over a non-empty cache is held back whatever its size
	// unless HoldBackDrop is 1.
	HoldBackDrop     float64 `yaml:"hold_back_drop"`
	HoldBackMinCodes int     `yaml:"hold_back_min_codes"`
}

func defaultBitBadges() BitBadges {
	return BitBadges{
		APIURL:         "https://api.bitbadges.io/api/v0",
		SyncSchedule:   "*/5 * * * *",
		ExchangeBudget: 1500 * time.Millisecond,
		RequestTimeout: 30 * time.Second,
		MaxBackoff:     10 * time.Minute,
		// A server's broken answer must not empty or halve the cache.
		HoldBackDrop:     0.5,
		HoldBackMinCodes: 100,
	}
}

// APIKey, ClientSecret and RefreshToken say where each secret comes from.
func (c *Config) APIKey() Secret {
	return Secret{Key: "bitbadges.api_key_file", Name: c.BitBadges.APIKeyFile, File: c.Resolve(c.BitBadges.APIKeyFile), Env: "KIOSKD_BITBADGES_API_KEY"}
}

func (c *Config) ClientSecret() Secret {
	return Secret{Key: "bitbadges.client_secret_file", Name: c.BitBadges.ClientSecretFile, File: c.Resolve(c.BitBadges.ClientSecretFile), Env: "KIOSKD_BITBADGES_CLIENT_SECRET"}
}

func (c *Config) RefreshToken() Secret {
	return Secret{Key: "bitbadges.refresh_token_file", Name: c.BitBadges.RefreshTokenFile, File: c.Resolve(c.BitBadges.RefreshTokenFile), Env: "KIOSKD_BITBADGES_REFRESH_TOKEN"}
}

func (b *BitBadges) validate() error {
	if err := checkURL("bitbadges.api_url", b.APIURL, true); err != nil {
		return err
	}
	if b.SyncSchedule != "" {
		sched, err := cron.ParseStandard(b.SyncSchedule)
		if err != nil {
			return keyErr("bitbadges.sync_schedule", "%v", err)
		}
		// cron looks 5 years ahead, so a 29th of February is found; a 30th
		// of February never is, and would make the scheduler sync non-stop.
		if sched.Next(time.Now()).IsZero() {
			return keyErr("bitbadges.sync_schedule", "%q never fires (no such date)", b.SyncSchedule)
		}
	}
	if b.ExchangeBudget <= 0 || b.ExchangeBudget > 10*time.Second {
		return keyErr("bitbadges.exchange_budget", "must be between 1ms and 10s, not %v", b.ExchangeBudget)
	}
	if b.RequestTimeout <= 0 {
		return keyErr("bitbadges.request_timeout", "must be positive")
	}
	if b.MaxBackoff < time.Second {
		return keyErr("bitbadges.max_backoff", "must be at least 1s")
	}
	if b.SyncMaxPages < 0 {
		return keyErr("bitbadges.sync_max_pages", "must be 0 (auto) or a number of pages, not %d", b.SyncMaxPages)
	}
	if b.SyncMaxDuration != 0 && b.SyncMaxDuration < time.Second {
		return keyErr("bitbadges.sync_max_duration", "must be 0 (auto) or at least 1s, not %v", b.SyncMaxDuration)
	}
	if !(b.HoldBackDrop > 0 && b.HoldBackDrop <= 1) {
		return keyErr("bitbadges.hold_back_drop", "must be a fraction above 0 and at most 1 (1 = never hold back), not %v", b.HoldBackDrop)
	}
	if b.HoldBackMinCodes < 1 {
		return keyErr("bitbadges.hold_back_min_codes", "must be at least 1, not %d", b.HoldBackMinCodes)
	}
	return nil
}
