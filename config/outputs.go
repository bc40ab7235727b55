package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Output is one local hand-off receiver (package output/handoff): each verdict is
// handed to a till or a loyalty service, from a durable bounded queue.
type Output struct {
	// Name names the output's queue, status line and metrics label.
	Name string `yaml:"name"`
	// Kind is webhook (an HTTPS POST signed with HMAC-SHA256) or mqtt (a
	// QoS 1 publish).
	Kind string `yaml:"kind"`

	// URL receives the webhook's POSTs: http:// or https://, no credentials.
	URL string `yaml:"url"`
	// SecretFile holds the webhook's HMAC key (or env
	// KIOSKD_OUTPUT_<NAME>_SECRET, the name upper-cased with - as _).
	SecretFile string `yaml:"secret_file"`
	// Timeout bounds one delivery attempt; 0 = 5s (webhook) or 10s (mqtt).
	Timeout time.Duration `yaml:"timeout"`

	// Broker is the mqtt output's broker; empty = fleet.broker, with the
	// fleet's credentials and CA.
	Broker string `yaml:"broker"`
	// CredentialsFile logs in to Broker ("username:password" or YAML, like
	// fleet.credentials_file; or env KIOSKD_OUTPUT_<NAME>_CREDENTIALS).
	CredentialsFile string `yaml:"credentials_file"`
	// Topic is where the mqtt output publishes.
	Topic string `yaml:"topic"`

	// CAFile verifies an https receiver or an mqtts broker with the venue's
	// own CA instead of the system's roots.
	CAFile string `yaml:"ca_file"`
	// Verdicts is "all" (default) or "accepted".
	Verdicts string `yaml:"verdicts"`
	// MaxQueued bounds the output's queue; when full the oldest message is
	// dropped and counted. 0 = 10000.
	MaxQueued int `yaml:"max_queued"`
}

// Output kinds.
const (
	OutputWebhook = "webhook"
	OutputMQTT    = "mqtt"
)

var outputNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// OutputSecret says where the webhook output's HMAC key comes from.
func (c *Config) OutputSecret(i int) Secret {
	o := c.Outputs[i]
	return Secret{Key: fmt.Sprintf("outputs[%d].secret_file", i), Name: o.SecretFile, File: c.Resolve(o.SecretFile),
		Env: outputEnv(o.Name, "SECRET")}
}

// OutputCredentials says where the mqtt output's broker login comes from
// (the fleet's when the output has no broker of its own).
func (c *Config) OutputCredentials(i int) Secret {
	o := c.Outputs[i]
	if o.Broker == "" {
		return Secret{Key: "fleet.credentials_file", Name: c.Fleet.CredentialsFile, File: c.Resolve(c.Fleet.CredentialsFile),
			Env: "KIOSKD_FLEET_CREDENTIALS"}
	}
	return Secret{Key: fmt.Sprintf("outputs[%d].credentials_file", i), Name: o.CredentialsFile, File: c.Resolve(o.CredentialsFile),
		Env: outputEnv(o.Name, "CREDENTIALS")}
}

// OutputBroker is the mqtt output's broker URL and CA file (resolved; "" =
// the system's roots), its own or the fleet's.
func (c *Config) OutputBroker(i int) (broker, caFile string) {
	o := c.Outputs[i]
	if o.Broker == "" {
		return c.Fleet.Broker, c.Resolve(c.Fleet.CAFile)
	}
	return o.Broker, c.Resolve(o.CAFile)
}

func outputEnv(name, what string) string {
	return "KIOSKD_OUTPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_" + what
}

// validateOutputs checks the outputs list and fills in its defaults.
func (c *Config) validateOutputs() error {
	seen := map[string]bool{}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		key := func(k string) string { return fmt.Sprintf("outputs[%d].%s", i, k) }
		if !outputNameRE.MatchString(o.Name) {
			return keyErr(key("name"), "must be 1-32 lowercase letters, digits, - or _, not %q", o.Name)
		}
		if seen[o.Name] {
			return keyErr(key("name"), "%q is used twice", o.Name)
		}
		seen[o.Name] = true
		if o.Verdicts == "" {
			o.Verdicts = "all"
		}
		if o.Verdicts != "all" && o.Verdicts != "accepted" {
			return keyErr(key("verdicts"), "must be all or accepted, not %q", o.Verdicts)
		}
		if o.MaxQueued == 0 {
			o.MaxQueued = 10000
		}
		if o.MaxQueued < 10 || o.MaxQueued > 1000000 {
			return keyErr(key("max_queued"), "must be between 10 and 1000000, not %d", o.MaxQueued)
		}
		if o.Timeout != 0 && (o.Timeout < 100*time.Millisecond || o.Timeout > time.Minute) {
			return keyErr(key("timeout"), "must be between 100ms and 1m, not %v", o.Timeout)
		}
		var err error
		switch o.Kind {
		case OutputWebhook:
			err = c.validateWebhook(i, key)
		case OutputMQTT:
			err = c.validateMQTTOutput(i, key)
		default:
			return keyErr(key("kind"), "must be webhook or mqtt, not %q", o.Kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateWebhook(i int, key func(string) string) error {
	o := &c.Outputs[i]
	for _, kv := range [][2]string{{"broker", o.Broker}, {"topic", o.Topic}, {"credentials_file", o.CredentialsFile}} {
		if kv[1] != "" {
			return keyErr(key(kv[0]), "is for kind mqtt, not webhook")
		}
	}
	if err := checkURL(key("url"), o.URL, true); err != nil {
		return err
	}
	u, _ := url.Parse(o.URL)
	if u.User != nil {
		return keyErr(key("url"), "must not hold credentials: the request is signed with outputs[%d].secret_file", i)
	}
	if o.CAFile != "" && u.Scheme != "https" {
		return keyErr(key("ca_file"), "needs an https:// url")
	}
	return nil
}

func (c *Config) validateMQTTOutput(i int, key func(string) string) error {
	o := &c.Outputs[i]
	for _, kv := range [][2]string{{"url", o.URL}, {"secret_file", o.SecretFile}} {
		if kv[1] != "" {
			return keyErr(key(kv[0]), "is for kind webhook, not mqtt")
		}
	}
	if o.Topic == "" {
		return keyErr(key("topic"), "must not be empty")
	}
	if strings.ContainsAny(o.Topic, "+#\x00") || strings.HasPrefix(o.Topic, "$") {
		return keyErr(key("topic"), "must have no wildcards and no leading $, not %q", o.Topic)
	}
	if c.Fleet.Enabled() && strings.HasPrefix(o.Topic+"/", c.Fleet.TopicPrefix+"/") {
		return keyErr(key("topic"), "must not be under fleet.topic_prefix %q: the fleet's kiosks would read it as theirs", c.Fleet.TopicPrefix)
	}
	if o.Broker == "" {
		if !c.Fleet.Enabled() {
			return keyErr(key("broker"), "must be set when fleet.broker is not")
		}
		if o.CredentialsFile != "" || o.CAFile != "" {
			return keyErr(key("broker"), "is empty, so the fleet's broker, credentials_file and ca_file are used: set them in fleet")
		}
		return nil
	}
	u, err := url.Parse(o.Broker)
	if err != nil {
		return keyErr(key("broker"), "%q: %v", safeURL(o.Broker), urlCause(err))
	}
	if u.Scheme != "mqtt" && u.Scheme != "mqtts" {
		return keyErr(key("broker"), "must be mqtt:// or mqtts://, not %q", safeURL(o.Broker))
	}
	if u.Host == "" {
		return keyErr(key("broker"), "has no host: %q", safeURL(o.Broker))
	}
	if u.User != nil {
		return keyErr(key("broker"), "must not hold credentials; use outputs[%d].credentials_file", i)
	}
	if o.CAFile != "" && u.Scheme != "mqtts" {
		return keyErr(key("ca_file"), "needs an mqtts:// broker")
	}
	return nil
}
