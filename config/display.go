package config

import "time"

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
	return Secret{Key: "display.secret_key_file", File: c.Resolve(c.Display.SecretKeyFile), Env: "AUTHSIGNAL_SECRET_KEY"}
}

func (d *Display) validate() error {
	if !d.Enabled {
		return nil
	}
	if err := checkURL("display.api_url", d.APIURL, true); err != nil {
		return err
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
