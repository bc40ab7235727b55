package mqtt

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kioskd/kioskd/fleet"
	"github.com/kioskd/kioskd/output/handoff"
)

// Kind is the output kind's name in the configuration.
const Kind = "mqtt"

// Config is one outputs: entry of kind mqtt: its own keys (kind and name
// belong to the list).
type Config struct {
	// Broker is mqtt://host:port or mqtts://host:port, without credentials.
	Broker string `yaml:"broker"`
	// CredentialsFile holds the login, "username:password" or YAML with
	// username and password (or env KIOSKD_OUTPUT_<NAME>_CREDENTIALS).
	CredentialsFile string `yaml:"credentials_file"`
	// Topic is where each payload is published.
	Topic string `yaml:"topic"`
	// CAFile verifies an mqtts broker with the venue's own CA.
	CAFile string `yaml:"ca_file"`
	// Timeout bounds one publish (to its PUBACK); 0 = DefaultTimeout.
	Timeout        time.Duration `yaml:"timeout"`
	handoff.Common `yaml:",inline"`
}

// Check validates the keys without reading any file, and fills defaults.
// Its errors name the key.
func (c *Config) Check() error {
	if c.Broker == "" {
		return errors.New("broker: must not be empty")
	}
	u, err := url.Parse(c.Broker)
	if err != nil {
		return errors.New("broker: does not parse")
	}
	if u.Scheme != "mqtt" && u.Scheme != "mqtts" {
		return fmt.Errorf("broker: must be mqtt:// or mqtts://, not %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("broker: has no host")
	}
	if u.User != nil {
		return errors.New("broker: must not hold credentials; use credentials_file")
	}
	if c.CAFile != "" && u.Scheme != "mqtts" {
		return errors.New("ca_file: needs an mqtts:// broker")
	}
	if c.Topic == "" {
		return errors.New("topic: must not be empty")
	}
	if strings.ContainsAny(c.Topic, "+#\x00") || strings.HasPrefix(c.Topic, "$") {
		return fmt.Errorf("topic: must have no wildcards and no leading $, not %q", c.Topic)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 100*time.Millisecond || c.Timeout > time.Minute {
		return fmt.Errorf("timeout: must be between 100ms and 1m, not %v", c.Timeout)
	}
	return c.Common.Check()
}

// Prepare checks c, reads the login and the CA file through env and makes
// the sender, connecting to nothing (a reload's preflight uses it).
func Prepare(c Config, env handoff.Env) (*Sender, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	var user, pass string
	if env.Secret != nil {
		creds, err := env.Secret("credentials_file", c.CredentialsFile, handoff.SecretEnv(env.Name, "CREDENTIALS"))
		if err != nil {
			return nil, err
		}
		if creds != "" {
			if user, pass, err = fleet.ParseCredentials(creds); err != nil {
				return nil, fmt.Errorf("credentials_file: %w", err)
			}
		}
	}
	tlsc, err := env.CAConfig("ca_file", c.CAFile)
	if err != nil {
		return nil, err
	}
	return New(Options{Broker: c.Broker, Username: user, Password: pass, TLS: tlsc, Topic: c.Topic,
		ClientID: "kioskd-" + env.Kiosk + "-out-" + env.Name, Timeout: c.Timeout, Logger: env.Logger})
}

// Open makes one mqtt output: its sender (connected by the hub's Run) and
// its durable queue.
func Open(c Config, env handoff.Env) (*handoff.Hub, error) {
	s, err := Prepare(c, env)
	if err != nil {
		return nil, err
	}
	return env.Open(c.Common, Kind, s.Target(), s)
}
