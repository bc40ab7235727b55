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
		{"empty gpio driver", "gpio:\n  driver: ''\n", "gpio.driver"},
		{"relay without line", "gpio:\n  relay: {pulse: 3s}\n", "gpio.relay.line"},
		{"bad fail mode", "gpio:\n  relay: {line: GPIO17, fail_mode: open}\n", "gpio.relay.fail_mode"},
		{"window reversed", "policy:\n  valid_from: 2026-01-02T00:00:00Z\n  valid_until: 2026-01-01T00:00:00Z\n", "policy.valid_until"},
		{"bad api url", "bitbadges:\n  api_url: ftp://x\n", "bitbadges.api_url"},
		{"bad broker", "fleet:\n  broker: http://x\n", "fleet.broker"},
		{"wrong type", "camera:\n  fps: fast\n", "fast"},
		{"two documents", "state_dir: /a\n---\nstate_dir: /b\n", "more than one document"},
		{"bad log level", "log_level: chatty\n", "log_level"},
		{"http host with port", "http:\n  hosts: [door-3.local:9750]\n", "http.hosts"},
		{"http host as URL", "http:\n  hosts: [\"http://door-3.local\"]\n", "http.hosts"},
		{"http host empty", "http:\n  hosts: [\"\"]\n", "http.hosts"},
		{"http host wildcard", "http:\n  hosts: [\"*.local\"]\n", "http.hosts"},
		{"http host bad label", "http:\n  hosts: [door..local]\n", "http.hosts"},
		{"control name with spaces", "camera:\n  controls: {\"Exposure Time, Absolute\": 100}\n", "camera.controls"},
		{"control name upper case", "camera:\n  controls: {Gain: 10}\n", "camera.controls"},
		{"control id too long", "camera:\n  controls: {\"0x1009a0902\": 1}\n", "camera.controls"},
		{"control value past 32 bits", "camera:\n  controls: {gain: 4294967296}\n", "camera.controls.gain"},
		{"control value not a number", "camera:\n  controls: {gain: high}\n", "high"},
		{"http host not a list", "http:\n  hosts: door-3.local\n", "cannot unmarshal"},
		{"negative page bound", "bitbadges:\n  sync_max_pages: -1\n", "bitbadges.sync_max_pages"},
		{"tiny time bound", "bitbadges:\n  sync_max_duration: 10ms\n", "bitbadges.sync_max_duration"},
		{"hold back drop 0", "bitbadges:\n  hold_back_drop: 0\n", "bitbadges.hold_back_drop"},
		{"hold back drop above 1", "bitbadges:\n  hold_back_drop: 1.5\n", "bitbadges.hold_back_drop"},
		{"hold back drop NaN", "bitbadges:\n  hold_back_drop: .nan\n", "bitbadges.hold_back_drop"},
		{"hold back min codes 0", "bitbadges:\n  hold_back_min_codes: 0\n", "bitbadges.hold_back_min_codes"},
		{"pixel cap below the camera's frame", "camera:\n  max_image_pixels: 1000\n", "camera.max_image_pixels"},
		{"pixel cap over the ceiling", "camera:\n  max_image_pixels: 1000000000\n", "camera.max_image_pixels"},
		{"no camera and no scanner", "camera:\n  source: none\n", "camera.source"},
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
	b := c.BitBadges
	if b.HoldBackDrop != 0.5 || b.HoldBackMinCodes != 100 || b.SyncMaxPages != 0 || b.SyncMaxDuration != 0 {
		t.Errorf("sync bounds and hold-back defaults: %+v", b)
	}
	c, err = Parse([]byte("bitbadges:\n  sync_max_pages: 8000\n  sync_max_duration: 20m\n  hold_back_drop: 1\n  hold_back_min_codes: 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b := c.BitBadges; b.SyncMaxPages != 8000 || b.SyncMaxDuration != 20*time.Minute || b.HoldBackDrop != 1 || b.HoldBackMinCodes != 10 {
		t.Errorf("sync bounds and hold-back values: %+v", b)
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
	f.Add([]byte("camera: {source: none}\ninputs:\n  - {kind: serial, device: /dev/serial0, parity: even}\n  - {kind: hid, name: desk-scanner, device: /dev/input/event3}\n"))
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

func TestHTTPHostsAccepted(t *testing.T) {
	for _, h := range []string{"door-3.local", "Door-3.Local.", "10.0.0.5", "fe80::1", "[fe80::1]", "kiosk_3.lan", "localhost"} {
		c, err := Parse([]byte("state_dir: /tmp/k\nhttp:\n  hosts: [\"" + h + "\"]\n"))
		if err != nil {
			t.Errorf("http.hosts [%q]: %v", h, err)
			continue
		}
		if len(c.HTTP.Hosts) != 1 || c.HTTP.Hosts[0] != h {
			t.Errorf("http.hosts [%q] read as %q", h, c.HTTP.Hosts)
		}
	}
}

func TestCameraControls(t *testing.T) {
	c, err := Parse([]byte("camera:\n  controls:\n    auto_exposure: 1\n    exposure_time_absolute: 150\n    gain: 0\n    0x009a090a: 0\n    brightness: -10\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"auto_exposure": 1, "exposure_time_absolute": 150, "gain": 0, "0x009a090a": 0, "brightness": -10}
	if len(c.Camera.Controls) != len(want) {
		t.Fatalf("controls %v, want %v", c.Camera.Controls, want)
	}
	for k, v := range want {
		if got, ok := c.Camera.Controls[k]; !ok || got != v {
			t.Errorf("controls[%s] = %d, %v; want %d", k, got, ok, v)
		}
	}
}
