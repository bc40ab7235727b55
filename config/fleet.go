package config

import (
	"net/url"
	"strings"
	"time"
)

// Fleet shares redemptions between the kiosks of one venue over MQTT v5
// (package fleet). An empty Broker means a single kiosk: nothing is shared.
// The kiosk's id in the fleet is the top-level kiosk_id.
type Fleet struct {
	// Broker is mqtt://host:1883 or mqtts://host:8883 (TLS, certificate verified).
	Broker string `yaml:"broker"`
	// CredentialsFile holds the broker login, either one line
	// "username:password" or YAML with the keys username and password.
	// KIOSKD_FLEET_CREDENTIALS (same formats) is read first. Optional.
	CredentialsFile string `yaml:"credentials_file"`
	// TopicPrefix is the venue's topic root, e.g. "kioskd/venue-42"; kiosks
	// sharing it form one fleet. No wildcards, no leading or trailing slash.
	TopicPrefix string `yaml:"topic_prefix"`
	// SessionExpiry is how long the broker keeps this kiosk's session (and
	// the peers' redemptions queued for it) while the kiosk is away.
	SessionExpiry time.Duration `yaml:"session_expiry"`
	// CAFile is a PEM bundle to verify an mqtts broker with instead of the
	// system's roots (a venue's own CA).
	CAFile string `yaml:"ca_file"`
	// QoS of redemption messages: 1 (at least once; receivers are idempotent) or 2.
	QoS int `yaml:"qos"`
	// StatusInterval is how often the retained "online" status is refreshed;
	// a peer not heard from for 3 intervals is shown offline.
	StatusInterval time.Duration `yaml:"status_interval"`
}

func defaultFleet() Fleet {
	return Fleet{TopicPrefix: "kioskd/venue", SessionExpiry: 7 * 24 * time.Hour, QoS: 1, StatusInterval: 30 * time.Second}
}

// Enabled reports whether a broker is configured.
func (f *Fleet) Enabled() bool { return f.Broker != "" }

func (f *Fleet) validate() error {
	if f.Broker == "" {
		return nil
	}
	u, err := url.Parse(f.Broker)
	if err != nil {
		return keyErr("fleet.broker", "%q: %v", safeURL(f.Broker), urlCause(err))
	}
	if u.Scheme != "mqtt" && u.Scheme != "mqtts" {
		return keyErr("fleet.broker", "must be mqtt:// or mqtts://, not %q", safeURL(f.Broker))
	}
	if u.Host == "" {
		return keyErr("fleet.broker", "has no host: %q", safeURL(f.Broker))
	}
	if u.User != nil {
		return keyErr("fleet.broker", "must not hold credentials; use fleet.credentials_file")
	}
	if f.TopicPrefix == "" {
		return keyErr("fleet.topic_prefix", "must not be empty")
	}
	if strings.ContainsAny(f.TopicPrefix, "+#\x00") || strings.HasPrefix(f.TopicPrefix, "/") ||
		strings.HasSuffix(f.TopicPrefix, "/") || strings.HasPrefix(f.TopicPrefix, "$") {
		return keyErr("fleet.topic_prefix", "must have no wildcards, no leading $ or / and no trailing /, not %q", f.TopicPrefix)
	}
	if f.SessionExpiry < time.Second || f.SessionExpiry > time.Duration(1<<32-2)*time.Second {
		return keyErr("fleet.session_expiry", "must be between 1s and about 136 years, not %v", f.SessionExpiry)
	}
	if f.QoS != 1 && f.QoS != 2 {
		return keyErr("fleet.qos", "must be 1 or 2, not %d", f.QoS)
	}
	if f.StatusInterval < time.Second {
		return keyErr("fleet.status_interval", "must be at least 1s, not %v", f.StatusInterval)
	}
	if f.CAFile != "" && u.Scheme != "mqtts" {
		return keyErr("fleet.ca_file", "needs an mqtts:// broker")
	}
	return nil
}
