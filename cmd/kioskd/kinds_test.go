package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKindNamesAtStart: what the config names from the registries (the
// GPIO driver, input, output and page kinds) is checked when the binary
// loads its config: a name this kioskd is not built with stops `run` and
// the tools with exit 2 and the key named, listing what it has, before
// anything is opened (no state folder made, no line requested).
func TestKindNamesAtStart(t *testing.T) {
	e := newEnv(t, "")
	base, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, edit, want string
	}{
		{"gpio driver", "driver: sysfs", `gpio.driver: unknown gpio.driver "sysfs" (this kioskd has: cdev, none, sim)`},
		{"input kind", "\ninputs:\n  - {kind: telepathy}\n", `inputs[0].kind: unknown input kind "telepathy" (this kioskd has: camera`},
		{"output kind", "\noutputs:\n  - {kind: telex, name: office}\n", `outputs[0].kind: unknown output kind "telex"`},
		{"page kind", "\n  pages: [{kind: guestbook}]\n", `http.pages[0].kind: unknown page kind "guestbook"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := string(base)
			switch {
			case strings.HasPrefix(tt.edit, "driver:"):
				cfg = strings.Replace(cfg, "driver: sim", tt.edit, 1)
			case strings.Contains(tt.edit, "pages:"):
				listen := fmt.Sprintf("\nhttp:\n  listen: 127.0.0.1:%d", e.port)
				if !strings.Contains(cfg, listen) {
					t.Fatalf("no %q in the config", listen)
				}
				cfg = strings.Replace(cfg, listen, listen+strings.TrimSuffix(tt.edit, "\n"), 1)
			default:
				cfg += tt.edit
			}
			p := filepath.Join(e.dir, "kinds.yaml")
			if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"run", "-config", p}, {"status", "-config", p}} {
				_, errOut, code := e.kioskd(args...)
				if code != exitError || !strings.Contains(errOut, tt.want) {
					t.Errorf("kioskd %s: exit %d, %q; want %d and %q", args[0], code, errOut, exitError, tt.want)
				}
				if strings.Contains(errOut, "panic") {
					t.Errorf("kioskd %s panicked:\n%s", args[0], errOut)
				}
			}
			if _, err := os.Stat(filepath.Join(e.dir, "state")); !os.IsNotExist(err) {
				t.Errorf("the state folder was made before the config was refused: %v", err)
			}
		})
	}
}
