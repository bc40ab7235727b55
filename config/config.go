// Package config loads kioskd's YAML configuration.
//
// Parsing is strict: an unknown key, a value of the wrong type or an out-of-range
// value is an error that names the key, so a typo in a venue's config is caught
// at start-up (or rejected on SIGHUP) rather than silently ignored. Each section
// lives in its own file with its defaults and its own validate method.
//
// Secrets (API key, client secret, refresh token, tokens) are never part of the
// Config value itself: it holds only where to find them (a file or an
// environment variable); see Secret.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the whole of kioskd's configuration.
type Config struct {
	// StateDir holds the bbolt file and anything else kioskd persists.
	StateDir string `yaml:"state_dir"`
	// KioskID names this kiosk in events, logs and the fleet; default: the host name.
	KioskID string `yaml:"kiosk_id"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`

	BitBadges BitBadges `yaml:"bitbadges"`
	Policy    Policy    `yaml:"policy"`
	Camera    Camera    `yaml:"camera"`
	GPIO      GPIO      `yaml:"gpio"`
	Events    Events    `yaml:"events"`
	HTTP      HTTP      `yaml:"http"`
	Display   Display   `yaml:"display"`
	Fleet     Fleet     `yaml:"fleet"`
	// Access gates entry on badges held (see access.go).
	Access Access `yaml:"access"`
	// Inputs are where codes come from besides the camera (a 2D barcode
	// scanner yielding text): registered kinds, see plugin.go.
	Inputs []Plugin `yaml:"inputs"`
	// Outputs hear every verdict after the kiosk's signal showed it (a
	// webhook, an MQTT topic): registered kinds, see plugin.go.
	Outputs []Plugin `yaml:"outputs"`

	// path is the file the config came from; relative paths in it are taken
	// relative to its folder.
	path string
}

// Default returns a configuration with every default filled in.
func Default() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "kiosk"
	}
	return Config{
		StateDir:  "/var/lib/kioskd",
		KioskID:   host,
		LogLevel:  "info",
		BitBadges: defaultBitBadges(),
		Policy:    defaultPolicy(),
		Camera:    defaultCamera(),
		GPIO:      defaultGPIO(),
		Events:    defaultEvents(),
		HTTP:      defaultHTTP(),
		Display:   defaultDisplay(),
		Fleet:     defaultFleet(),
		Access:    defaultAccess(),
	}
}

// Load reads and validates the configuration file at path.
func Load(path string) (Config, error) {
	data, err := ReadFile(path, MaxConfigBytes)
	if err != nil {
		return Config{}, fmt.Errorf("reading config %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		c.path = abs
	}
	// Relative paths in the file are relative to the file, not to wherever
	// kioskd was started from.
	c.StateDir = c.Resolve(c.StateDir)
	for _, prefix := range []string{"dir:", "file:"} {
		if rest, ok := strings.CutPrefix(c.Camera.Source, prefix); ok {
			c.Camera.Source = prefix + c.Resolve(rest)
		}
	}
	return c, nil
}

// Parse decodes YAML over the defaults and validates the result.
func Parse(data []byte) (Config, error) {
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("parsing YAML: %w", err)
	}
	// A second document in the file is almost certainly a mistake (a stray
	// "---"); refuse it rather than ignore half the file.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return Config{}, errors.New("parsing YAML: more than one document")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every section and returns the first problem, naming its key.
func (c *Config) Validate() error {
	if c.StateDir == "" {
		return keyErr("state_dir", "must not be empty")
	}
	if c.KioskID == "" {
		return keyErr("kiosk_id", "must not be empty")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return keyErr("log_level", "must be debug, info, warn or error, not %q", c.LogLevel)
	}
	for _, v := range []interface{ validate() error }{
		&c.BitBadges, &c.Policy, &c.Camera, &c.GPIO, &c.Events, &c.HTTP, &c.Display, &c.Fleet, &c.Access,
	} {
		if err := v.validate(); err != nil {
			return err
		}
	}
	if err := validatePlugins("inputs", c.Inputs); err != nil {
		return err
	}
	if c.Camera.Source == CameraNone && len(c.Inputs) == 0 {
		return keyErr("camera.source", "none needs inputs: (a scanner): without either the kiosk reads no code")
	}
	// Events, the screen and the hand-off tell where a code was read by
	// these names: a scanner named like one would pass for it (a desk
	// check is kept off the door's screen by its input's name).
	reserved := map[string]string{
		"camera":  "the camera: section's input",
		"desk":    "the staff desk's (http.pages kind desk)",
		"display": "the display mode's",
	}
	for i, p := range c.Inputs {
		if whose, ok := reserved[p.Name]; ok {
			return keyErr(fmt.Sprintf("inputs[%d].name", i), "%s is %s name: name this one apart", p.Name, whose)
		}
	}
	if err := validatePlugins("outputs", c.Outputs); err != nil {
		return err
	}
	if c.Access.Gated() && c.BitBadges.ClientID == "" {
		return keyErr("access.require", "needs bitbadges.client_id: the badge owners come from the sync")
	}
	if c.Access.Gated() && c.Display.Enabled {
		// A display sign-in names an Authsignal user, not a BitBadges
		// address: it would open a members-only door to anyone.
		return keyErr("display.enabled", "cannot be combined with access.require: a display sign-in carries no BitBadges address to check the badge against")
	}
	if c.Display.Enabled && c.HTTP.Listen == "" {
		return keyErr("http.listen", "must be set when display.enabled is true: the kiosk's screen is served there")
	}
	return nil
}

// Dir is the folder of the config file ("" for a config not read from a file).
func (c *Config) Dir() string {
	if c.path == "" {
		return ""
	}
	return filepath.Dir(c.path)
}

// Resolve makes a path from the config absolute, relative to the config's folder.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.path == "" {
		return p
	}
	return filepath.Join(c.Dir(), p)
}

// KeyError is a configuration error tied to one key, e.g. "policy.cooldown".
type KeyError struct {
	Key string
	Msg string
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Msg }

func keyErr(key, format string, args ...any) error {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}
