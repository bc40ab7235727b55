package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/kioskd/kioskd/output/handoff"
)

// Kind is the output kind's name in the configuration.
const Kind = "webhook"

// Config is one outputs: entry of kind webhook: its own keys (kind and
// name belong to the list).
type Config struct {
	// URL receives the POSTs: http:// or https://, without credentials.
	URL string `yaml:"url"`
	// SecretFile holds the HMAC key (or env KIOSKD_OUTPUT_<NAME>_SECRET).
	SecretFile string `yaml:"secret_file"`
	// Timeout bounds one attempt; 0 = DefaultTimeout.
	Timeout time.Duration `yaml:"timeout"`
	// CAFile verifies an https receiver with the venue's own CA.
	CAFile         string `yaml:"ca_file"`
	handoff.Common `yaml:",inline"`
}

// Check validates the keys without reading any file, and fills defaults.
// Its errors name the key.
func (c *Config) Check() error {
	if c.URL == "" {
		return errors.New("url: must not be empty")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return errors.New("url: does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url: must be http:// or https://, not %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("url: has no host")
	}
	if u.User != nil {
		return errors.New("url: must not hold credentials: the request is signed with the key of secret_file")
	}
	if c.CAFile != "" && u.Scheme != "https" {
		return errors.New("ca_file: needs an https:// url")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 100*time.Millisecond || c.Timeout > time.Minute {
		return fmt.Errorf("timeout: must be between 100ms and 1m, not %v", c.Timeout)
	}
	return c.Common.Check()
}

// Prepare checks c, reads the key and the CA file through env and makes
// the sender, connecting to nothing (a reload's preflight uses it).
func Prepare(c Config, env handoff.Env, userAgent string) (*Sender, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if env.Secret == nil {
		return nil, errors.New("secret_file: no way to read secrets")
	}
	envVar := handoff.SecretEnv(env.Name, "SECRET")
	key, err := env.Secret("secret_file", c.SecretFile, envVar)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("secret_file (or $%s) is required: the receiver checks the signature with it", envVar)
	}
	tlsc, err := env.CAConfig("ca_file", c.CAFile)
	if err != nil {
		return nil, err
	}
	return New(Options{URL: c.URL, Key: []byte(key), Timeout: c.Timeout, TLS: tlsc, UserAgent: userAgent})
}

// Open makes one webhook output: its sender and its durable queue.
func Open(c Config, env handoff.Env, userAgent string) (*handoff.Hub, error) {
	s, err := Prepare(c, env, userAgent)
	if err != nil {
		return nil, err
	}
	return env.Open(c.Common, Kind, s.Target(), s)
}
