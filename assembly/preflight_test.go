package assembly

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/config"
)

// TestFaultPreflight: what a reload checks before it stops the running
// generation, one start-up failure at a time; each of these made the daemon
// exit 2 on SIGHUP before (see TestFaultReloadBadAtStartup).
func TestFaultPreflight(t *testing.T) {
	dir := t.TempDir()
	for name, v := range map[string]string{"key": "k", "secret": "s", "token": "t", "empty": "",
		"staff": "ada ada-5f1d0c2b9e8a7f6e\n", "staff-bad": "ada ada-5f1d0c2b9e8a7f6e\nlin\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "frames"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "frames", "a.png"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const base = "bitbadges: {client_id: c, api_key_file: key, client_secret_file: secret}\ncamera: {source: dir:frames}\n"
	tests := []struct {
		name, yaml, key string // key "" = passes
	}{
		{"good", base, ""},
		{"good, token and 0.0.0.0", base + "http: {listen: '0.0.0.0:9', token_file: token}\n", ""},
		{"good, v4l2 camera absent", strings.Replace(base, "dir:frames", "/dev/video99", 1), ""},
		{"api key file missing", strings.Replace(base, "api_key_file: key", "api_key_file: nokey", 1), "bitbadges.api_key_file"},
		{"client secret empty", strings.Replace(base, "client_secret_file: secret", "client_secret_file: empty", 1), "bitbadges.client_secret_file"},
		{"0.0.0.0 without a token", base + "http: {listen: '0.0.0.0:9'}\n", "http.listen"},
		{"token file missing", base + "http: {listen: '127.0.0.1:9', token_file: notoken}\n", "http.token_file"},
		{"frames folder missing", strings.Replace(base, "dir:frames", "dir:noframes", 1), "camera.source"},
		{"state_dir a file", base + "state_dir: a-file\n", "state_dir"},
		{"good, a desk", base + "http: {listen: '127.0.0.1:9', pages: [{kind: desk, staff_file: staff}]}\n", ""},
		{"desk staff file malformed", base + "http: {listen: '127.0.0.1:9', pages: [{kind: desk, staff_file: staff-bad}]}\n",
			`http.pages[0] (desk, line 3): staff_file staff-bad: line 2: want "name token"`},
		{"desk staff file missing", base + "http: {listen: '127.0.0.1:9', pages: [{kind: desk, staff_file: nostaff}]}\n",
			"http.pages desk.staff_file: cannot read"},
		{"gpio driver this kioskd lacks", base + "gpio: {driver: sysfs}\n", `gpio.driver: unknown gpio.driver "sysfs" (this kioskd has: cdev, none, sim)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "kioskd.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(p)
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			err = Preflight(&cfg)
			switch {
			case tt.key == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.key != "" && (err == nil || !strings.Contains(err.Error(), tt.key)):
				t.Errorf("err %v, want one naming %s", err, tt.key)
			}
		})
	}
}
