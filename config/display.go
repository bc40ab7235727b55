package config

import (
	"os"
	"time"
)

// Display is the show-a-QR mode (Authsignal): the kiosk displays a challenge
// and the user approves it on their phone.
type Display struct {
	Enabled  bool   `yaml:"enabled"`
	APIURL   string `yaml:"api_url"`   // region base, or env AUTHSIGNAL_API_URL
	TenantID string `yaml:"tenant_id"` // public, or env AUTHSIGNAL_TENANT_ID
	// SecretKeyFile holds the server API secret key (or env AUTHSIGNAL_SECRET_KEY).
	SecretKeyFile string            `yaml:"secret_key_file"`
	Action        string            `yaml:"action"`
	Custom        map[string]string `yaml:"custom"` // shown on the phone, e.g. terminal: door-3
	PollInterval  time.Duration     `yaml:"poll_interval"`
	Refresh       time.Duration     `yaml:"refresh"` // new challenge before the 10-minute expiry
}

func defaultDisplay() Display {
	return Display{APIURL: "https://api.authsignal.com/v1", Action: "kiosk-login", PollInterval: 1500 * time.Millisecond, Refresh: 9 * time.Minute}
}

// AuthsignalSecret says where the Authsignal secret key comes from.
func (c *Config) AuthsignalSecret() Secret {
	return Secret{Key: "display.secret_key_file", Name: c.Display.SecretKeyFile, File: c.Resolve(c.Display.SecretKeyFile), Env: "AUTHSIGNAL_SECRET_KEY"}
}

// Endpoint returns the API base URL and tenant id in force: the environment
// variables AUTHSIGNAL_API_URL and AUTHSIGNAL_TENANT_ID when set (Authsignal's
// documented names), else the file's api_url and tenant_id.
func (d *Display) Endpoint() (apiURL, tenantID string) {
	apiURL, tenantID = d.APIURL, d.TenantID
	if v := os.Getenv("AUTHSIGNAL_API_URL"); v != "" {
		apiURL = v
	}
	if v := os.Getenv("AUTHSIGNAL_TENANT_ID"); v != "" {
		tenantID = v
	}
	return apiURL, tenantID
}

func (d *Display) validate() error {
	if !d.Enabled {
		return nil
	}
	apiURL, tenantID := d.Endpoint()
	if err := checkURL("display.api_url (or AUTHSIGNAL_API_URL)", apiURL, true); err != nil {
		return err
	}
	if tenantID == "" {
		return keyErr("display.tenant_id", "must not be empty (or set AUTHSIGNAL_TENANT_ID)")
	}
	for k, v := range d.Custom {
		if k == "" || len(k) > 64 || len(v) > 256 {
			return keyErr("display.custom", "keys must be 1-64 bytes and values at most 256 bytes (%q)", k)
		}
	}
	if d.Action == "" {
		return keyErr("display.action", "must not be empty")
	}
	if d.PollInterval < 100*time.Millisecond || d.PollInterval > 30*time.Second {
		return keyErr("display.poll_interval", "must be between 100ms and 30s")
	}
	if d.Refresh <= 0 || d.Refresh >= 10*time.Minute {
		return keyErr("display.refresh", "must be positive and under the 10-minute challenge expiry")
	}
	return nil
}
