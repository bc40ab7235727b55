package webhook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/output/handoff"
	"github.com/kioskd/kioskd/store"
)

func TestConfigCheck(t *testing.T) {
	c := Config{URL: "https://till.local/kioskd"}
	if err := c.Check(); err != nil || c.Timeout != DefaultTimeout || c.Verdicts != "all" || c.MaxQueued != handoff.DefaultMaxQueued {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, c := range []struct {
		name string
		c    Config
		key  string
	}{
		{"no url", Config{}, "url:"},
		{"ftp", Config{URL: "ftp://x"}, "url:"},
		{"no host", Config{URL: "https:///x"}, "url:"},
		{"credentials", Config{URL: "https://u:pw@x"}, "url:"},
		{"ca on http", Config{URL: "http://x", CAFile: "ca.pem"}, "ca_file:"},
		{"long timeout", Config{URL: "https://x", Timeout: time.Hour}, "timeout:"},
		{"bad verdicts", Config{URL: "https://x", Common: handoff.Common{Verdicts: "some"}}, "verdicts:"},
		{"tiny queue", Config{URL: "https://x", Common: handoff.Common{MaxQueued: 1}}, "max_queued:"},
	} {
		err := c.c.Check()
		if err == nil || !strings.HasPrefix(err.Error(), c.key) || strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.key)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "till.key"), []byte("k3y\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "not-a-ca.pem"), []byte("hello"), 0o600)
	st, err := store.Open(filepath.Join(dir, "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var asked []string
	env := handoff.Env{Name: "front-till", Kiosk: "door-a", Queue: st, Resolve: func(p string) string { return filepath.Join(dir, p) },
		Secret: func(key, file, env string) (string, error) {
			asked = append(asked, key+" "+file+" "+env)
			if file == "" {
				return "", nil
			}
			b, err := os.ReadFile(filepath.Join(dir, file))
			return strings.TrimSpace(string(b)), err
		}}
	h, err := Open(Config{URL: "https://till.local/kioskd?t=secret", SecretFile: "till.key"}, env, "kioskd/test")
	if err != nil {
		t.Fatal(err)
	}
	if d := h.Describe(); d != "webhook front-till to https://till.local/kioskd" {
		t.Fatalf("Describe %q", d)
	}
	if strings.Join(asked, ";") != "secret_file till.key KIOSKD_OUTPUT_FRONT_TILL_SECRET" {
		t.Fatalf("secrets asked for: %q", asked)
	}
	if _, err := Open(Config{URL: "https://till.local/kioskd"}, env, ""); err == nil ||
		err.Error() != "secret_file (or $KIOSKD_OUTPUT_FRONT_TILL_SECRET) is required: the receiver checks the signature with it" {
		t.Fatalf("no key: %v", err)
	}
	if _, err := Open(Config{URL: "https://till.local/kioskd", SecretFile: "till.key", CAFile: "not-a-ca.pem"}, env, ""); err == nil ||
		!strings.HasPrefix(err.Error(), "ca_file: ") {
		t.Fatalf("bad CA: %v", err)
	}
	if _, err := Open(Config{URL: "https://till.local/kioskd", SecretFile: "till.key", CAFile: "missing.pem"}, env, ""); err == nil ||
		!strings.HasPrefix(err.Error(), "ca_file: ") {
		t.Fatalf("missing CA: %v", err)
	}
}
