package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPagesConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct{ name, yaml, key string }{
		{"screen hold too short", "screen:\n  hold: 100ms\n", "screen.hold"},
		{"screen clients", "screen:\n  max_clients: 0\n", "screen.max_clients"},
		{"screen unknown key", "screen:\n  show_names: true\n", "show_names"},
		{"screen without listener", "http:\n  listen: \"\"\nscreen:\n  enabled: true\n", "http.listen"},
		{"desk check mode", "desk:\n  check: maybe\n", "desk.check"},
		{"desk opens", "desk:\n  manual_opens: 0\n", "desk.manual_opens"},
		{"desk window", "desk:\n  manual_open_window: 10ms\n", "desk.manual_open_window"},
		{"desk without staff", "desk:\n  enabled: true\n", "desk.staff_file"},
		{"desk without listener", "http:\n  listen: \"\"\ndesk:\n  enabled: true\n  staff_file: staff\n", "http.listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("error %v, want one naming %q", err, tt.key)
			}
		})
	}
	c, err := Parse([]byte("screen:\n  enabled: true\n  show_name: true\ndesk:\n  enabled: true\n  staff_file: staff\n  check: dry-run\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Screen.ShowName || c.Screen.Hold <= 0 || c.Desk.Check != DeskDryRun || c.Desk.ManualOpens != 5 {
		t.Errorf("parsed %+v %+v", c.Screen, c.Desk)
	}
}

func TestStaffTokensFromFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "kioskd.yaml")
	os.WriteFile(cfgPath, []byte("state_dir: st\ndesk:\n  enabled: true\n  staff_file: staff\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "staff"), []byte("ada 0123456789abcdef0123\n"), 0o600)
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text, warn, err := ReadSecret(c.StaffSecret())
	if err != nil || warn != "" || text != "ada 0123456789abcdef0123" {
		t.Fatalf("reading the staff file: %v %q", err, warn)
	}
}
