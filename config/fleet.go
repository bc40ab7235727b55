package config

import (
	"net/url"
	"time"
)

// Fleet shares redemptions between the kiosks of one venue over MQTT v5.
// An empty Broker means a single kiosk.
type Fleet struct {
	Broker          string        `yaml:"broker"` // mqtt://host:1883 or mqtts://host:8883
	CredentialsFile string        `yaml:"credentials_file"`
	TopicPrefix     string        `yaml:"topic_prefix"`
	SessionExpiry   time.Duration `yaml:"session_expiry"`
	CAFile          string        `yaml:"ca_file"`
}

func defaultFleet() Fleet {
	return Fleet{TopicPrefix: "kioskd/venue", SessionExpiry: 7 * 24 * time.Hour}
}

func (f *Fleet) validate() error {
	if f.Broker == "" {
		return nil
	}
	u, err := url.Parse(f.Broker)
	if err != nil {
		return keyErr("fleet.broker", "%v", err)
	}
	if u.Scheme != "mqtt" && u.Scheme != "mqtts" {
		return keyErr("fleet.broker", "must be mqtt:// or mqtts://, not %q", f.Broker)
	}
	if f.TopicPrefix == "" {
		return keyErr("fleet.topic_prefix", "must not be empty")
	}
	return nil
}
