package config

import (
	"github.com/robfig/cron/v3"
	"time"
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
}

func defaultBitBadges() BitBadges {
	return BitBadges{
		APIURL:         "https://api.bitbadges.io/api/v0",
		SyncSchedule:   "*/5 * * * *",
		ExchangeBudget: 1500 * time.Millisecond,
		RequestTimeout: 30 * time.Second,
		MaxBackoff:     10 * time.Minute,
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
	return nil
}
