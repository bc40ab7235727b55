package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestShippedConfigsParse(t *testing.T) {
	for _, p := range []string{"../configs/kioskd.yaml", "../configs/demo.yaml"} {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if _, err := Load(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, yaml, key string
	}{
		{"unknown top-level key", "stat_dir: /x\n", "stat_dir"},
		{"unknown nested key", "policy:\n  reuse: single\n  reuse_mode: x\n", "reuse_mode"},
		{"bad reuse", "policy:\n  reuse: twice\n", "policy.reuse"},
		{"cooldown without duration", "policy:\n  reuse: cooldown\n", "policy.cooldown"},
		{"bad duration", "camera:\n  rearm: soon\n", "soon"},
		{"bad cron", "bitbadges:\n  sync_schedule: every now and then\n", "bitbadges.sync_schedule"},
		{"cron that never fires", "bitbadges:\n  sync_schedule: \"0 0 30 2 *\"\n", "bitbadges.sync_schedule"},
		{"bad source", "camera:\n  source: webcam\n", "camera.source"},
		{"bad gpio driver", "gpio:\n  driver: sysfs\n", "gpio.driver"},
		{"relay without line", "gpio:\n  relay: {pulse: 3s}\n", "gpio.relay.line"},
		{"bad fail mode", "gpio:\n  relay: {line: GPIO17, fail_mode: open}\n", "gpio.relay.fail_mode"},
		{"window reversed", "policy:\n  valid_from: 2026-01-02T00:00:00Z\n  valid_until: 2026-01-01T00:00:00Z\n", "policy.valid_until"},
		{"bad api url", "bitbadges:\n  api_url: ftp://x\n", "bitbadges.api_url"},
		{"bad broker", "fleet:\n  broker: http://x\n", "fleet.broker"},
		{"wrong type", "camera:\n  fps: fast\n", "fast"},
		{"two documents", "state_dir: /a\n---\nstate_dir: /b\n", "more than one document"},
		{"bad log level", "log_level: chatty\n", "log_level"},
		{"pixel cap below the camera's frame", "camera:\n  max_image_pixels: 1000\n", "camera.max_image_pixels"},
		{"pixel cap over the ceiling", "camera:\n  max_image_pixels: 1000000000\n", "camera.max_image_pixels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse accepted %q", tt.yaml)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %q", err, tt.key)
			}
		})
	}
}

func TestParseDefaultsAndValues(t *testing.T) {
	c, err := Parse([]byte("state_dir: /tmp/k\ncamera:\n  rearm: 750ms\ngpio:\n  driver: sim\n  relay: {line: GPIO17, active_low: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Camera.Rearm != 750*time.Millisecond {
		t.Errorf("rearm = %v", c.Camera.Rearm)
	}
	if c.GPIO.Relay.Pulse != 3*time.Second || c.GPIO.Relay.FailMode != "secure" || !c.GPIO.Relay.ActiveLow {
		t.Errorf("relay = %+v", *c.GPIO.Relay)
	}
	if c.Policy.Reuse != ReuseSingle || c.BitBadges.ExchangeBudget != 1500*time.Millisecond {
		t.Errorf("defaults not applied: %+v %+v", c.Policy, c.BitBadges)
	}
	if c.Camera.MaxImagePixels != DefaultMaxImagePixels {
		t.Errorf("camera.max_image_pixels = %d, want the default %d", c.Camera.MaxImagePixels, DefaultMaxImagePixels)
	}
	if _, err := Parse(nil); err != nil {
		t.Errorf("empty config: %v", err)
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "key")
	if err := os.WriteFile(f, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, warn, err := ReadSecret(Secret{Key: "k", File: f})
	if err != nil || v != "s3cret" || warn != "" {
		t.Fatalf("ReadSecret = %q %q %v", v, warn, err)
	}
	if err := os.Chmod(f, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, warn, _ = ReadSecret(Secret{Key: "k", File: f}); warn == "" {
		t.Error("no warning for a world-readable secret")
	}
	t.Setenv("KIOSKD_TEST_SECRET", "fromenv")
	if v, _, _ = ReadSecret(Secret{Key: "k", File: f, Env: "KIOSKD_TEST_SECRET"}); v != "fromenv" {
		t.Errorf("env not preferred: %q", v)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, _, err = ReadSecret(Secret{Key: "k", File: empty}); err == nil {
		t.Error("empty secret file accepted")
	}
	_, _, err = ReadSecret(Secret{Key: "bitbadges.api_key_file", File: filepath.Join(dir, "missing")})
	if err == nil || !strings.Contains(err.Error(), "bitbadges.api_key_file") {
		t.Errorf("missing file error %v does not name the key", err)
	}
	// The key itself pasted where its file's name belongs: the error must
	// not repeat it (it would reach the journal).
	pasted := "bbk_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	_, _, err = ReadSecret(Secret{Key: "bitbadges.api_key_file", Name: pasted, File: filepath.Join(dir, pasted)})
	if err == nil || !strings.Contains(err.Error(), "bitbadges.api_key_file") || strings.Contains(err.Error(), pasted[:12]) {
		t.Errorf("a pasted key in api_key_file: error %v, want one naming the key without the value", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("state_dir: /x\npolicy: {reuse: single}\n"))
	f.Add([]byte("gpio:\n  relay: {line: GPIO17}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted a config Validate rejects: %v", err)
			}
		}
	})
}

// Under systemd, LoadCredential= puts the secrets in $CREDENTIALS_DIRECTORY
// and the config names them bare ("api_key"): that folder wins over the
// config's own folder.
func TestSecretFromCredentialsDirectory(t *testing.T) {
	cfgDir, credDir := t.TempDir(), t.TempDir()
	cfgPath := filepath.Join(cfgDir, "kioskd.yaml")
	os.WriteFile(cfgPath, []byte("bitbadges:\n  api_key_file: api_key\n  client_secret_file: client_secret\n"), 0o600)
	os.WriteFile(filepath.Join(credDir, "api_key"), []byte("from-credentials"), 0o600)
	os.WriteFile(filepath.Join(cfgDir, "client_secret"), []byte("beside-the-config"), 0o600)
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", credDir)
	if v, _, err := ReadSecret(c.APIKey()); err != nil || v != "from-credentials" {
		t.Errorf("api key = %q, %v; want it from $CREDENTIALS_DIRECTORY", v, err)
	}
	// Not among the credentials: the file beside the config still serves.
	if v, _, err := ReadSecret(c.ClientSecret()); err != nil || v != "beside-the-config" {
		t.Errorf("client secret = %q, %v; want the file beside the config", v, err)
	}
}

func TestRelativePathsFollowTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.yaml")
	os.WriteFile(p, []byte("state_dir: state\ncamera:\n  source: dir:frames\n"), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != filepath.Join(dir, "state") || c.Camera.Source != "dir:"+filepath.Join(dir, "frames") {
		t.Errorf("state_dir %q, camera.source %q: not resolved against %s", c.StateDir, c.Camera.Source, dir)
	}
}
