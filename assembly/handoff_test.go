package assembly

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
)

// The commented outputs example in configs/kioskd.yaml is valid once
// uncommented: the webhook and mqtt kinds are linked in and accept it.
func TestShippedOutputsExample(t *testing.T) {
	b, err := os.ReadFile("../configs/kioskd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\noutputs: []\n")
	if !ok {
		t.Fatal("configs/kioskd.yaml has no outputs: [] line")
	}
	y := "outputs:\n"
	n := 0
	for line := range strings.SplitSeq(rest, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		if item, ok := strings.CutPrefix(line, "#  "); ok && !strings.HasPrefix(strings.TrimSpace(item), "#") {
			y += "  " + item + "\n"
			n++
		}
	}
	cfg, err := config.Parse([]byte(y))
	if err != nil || len(cfg.Outputs) != 2 || n < 7 {
		t.Fatalf("the example (%d lines):\n%s\n%v", n, y, err)
	}
	if err := Check(&cfg); err != nil {
		t.Fatalf("the example:\n%s\n%v", y, err)
	}
	bad, err := config.Parse([]byte(strings.Replace(y, "url: https://", "url: ftp://", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(&bad); err == nil || !strings.Contains(err.Error(), "outputs[0] (till, line 2): url: must be http:// or https://") {
		t.Fatalf("a bad url: %v", err)
	}
}

// Without a daemon the status lists every queue; one kept from an output
// no longer configured is a problem, and the kiosk unhealthy.
func TestStoredOutputs(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.HandoffAppend([]store.HandoffItem{{Output: "old", Body: []byte("{}"), Max: 10}, {Output: "till", Body: []byte("{}"), Max: 10}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("outputs:\n  - {name: till, kind: webhook, url: https://x}\n  - {name: pos, kind: mqtt, broker: mqtt://b, topic: t}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := status.Snapshot{Healthy: true}
	StoredOutputs(&s, &cfg, st)
	var got []string
	for _, o := range s.Outputs {
		got = append(got, o.Name+" "+o.Kind+" "+map[bool]string{true: "configured", false: "kept"}[o.Configured])
	}
	if strings.Join(got, ", ") != "old  kept, till webhook configured, pos mqtt configured" || s.Healthy ||
		len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "kioskd outputs drop old") {
		t.Fatalf("outputs %q, healthy %v, problems %q", got, s.Healthy, s.Problems)
	}
}

// A reload whose output would fail at start (no key, a CA file that is not
// one, a bad login) is refused by the preflight, naming the output.
func TestPreflightOutputs(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "till.key"), []byte("k3y\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "login"), []byte("no colon here\n"), 0o600)
	for _, c := range []struct{ name, outputs, want string }{
		{"fine", "  - {name: till, kind: webhook, url: https://till/x, secret_file: till.key}\n  - {name: pos, kind: mqtt, broker: mqtt://b, topic: t}\n", ""},
		{"no key", "  - {name: till, kind: webhook, url: https://till/x}\n", "output till: secret_file (or $KIOSKD_OUTPUT_TILL_SECRET) is required"},
		{"missing key file", "  - {name: till, kind: webhook, url: https://till/x, secret_file: gone.key}\n", "outputs[0].secret_file"},
		{"not a CA", "  - {name: till, kind: webhook, url: https://till/x, secret_file: till.key, ca_file: till.key}\n", "output till: ca_file: till.key holds no PEM certificate"},
		{"bad login", "  - {name: pos, kind: mqtt, broker: mqtt://b, topic: t, credentials_file: login}\n", "output pos: credentials_file: credentials: expected username:password"},
	} {
		path := filepath.Join(dir, c.name+".yaml")
		os.WriteFile(path, []byte("state_dir: "+dir+"\noutputs:\n"+c.outputs), 0o600)
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		err = Preflight(&cfg)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "k3y") {
			t.Errorf("%s: the error quotes the key", c.name)
		}
	}
}
