package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOutputsParse(t *testing.T) {
	c, err := Parse([]byte(`
fleet:
  broker: mqtt://broker.local:1883
  topic_prefix: kioskd/venue-1
  credentials_file: fleet.creds
outputs:
  - name: till
    kind: webhook
    url: https://till.local:8443/kioskd
    secret_file: till.key
    ca_file: venue-ca.pem
    timeout: 2s
  - name: loyalty
    kind: mqtt
    topic: pos/loyalty/door-a
    verdicts: accepted
    max_queued: 500
  - name: other-broker
    kind: mqtt
    broker: mqtts://pos.local:8883
    credentials_file: pos.creds
    topic: kiosks/door-a
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Outputs) != 3 {
		t.Fatalf("outputs %+v", c.Outputs)
	}
	w, m := c.Outputs[0], c.Outputs[1]
	if w.Verdicts != "all" || w.MaxQueued != 10000 || w.Timeout != 2*time.Second {
		t.Fatalf("webhook defaults %+v", w)
	}
	if m.Verdicts != "accepted" || m.MaxQueued != 500 {
		t.Fatalf("mqtt %+v", m)
	}
	if s := c.OutputSecret(0); s.Env != "KIOSKD_OUTPUT_TILL_SECRET" || s.Key != "outputs[0].secret_file" {
		t.Fatalf("secret %+v", s)
	}
	if s := c.OutputCredentials(1); s.Key != "fleet.credentials_file" {
		t.Fatalf("an mqtt output without broker logs in as the fleet: %+v", s)
	}
	if b, _ := c.OutputBroker(1); b != "mqtt://broker.local:1883" {
		t.Fatalf("broker %q", b)
	}
	if s := c.OutputCredentials(2); s.Env != "KIOSKD_OUTPUT_OTHER_BROKER_CREDENTIALS" {
		t.Fatalf("credentials %+v", s)
	}
	if b, _ := c.OutputBroker(2); b != "mqtts://pos.local:8883" {
		t.Fatalf("broker %q", b)
	}
	if c, err := Parse([]byte("kiosk_id: k\n")); err != nil || len(c.Outputs) != 0 {
		t.Fatalf("no outputs: %v %v", c.Outputs, err)
	}
}

func TestOutputsErrorsNameTheKey(t *testing.T) {
	fleet := "fleet:\n  broker: mqtt://b:1883\n  topic_prefix: kioskd/v\n"
	for _, c := range []struct{ name, yaml, key string }{
		{"unknown key", "outputs:\n  - {name: a, kind: webhook, url: https://x, secret_file: k, retries: 3}\n", "retries"},
		{"bad name", "outputs:\n  - {name: Till 1, kind: webhook, url: https://x}\n", "outputs[0].name"},
		{"no name", "outputs:\n  - {kind: webhook, url: https://x}\n", "outputs[0].name"},
		{"name twice", "outputs:\n  - {name: a, kind: webhook, url: https://x}\n  - {name: a, kind: webhook, url: https://y}\n", "outputs[1].name"},
		{"bad kind", "outputs:\n  - {name: a, kind: email}\n", "outputs[0].kind"},
		{"webhook without url", "outputs:\n  - {name: a, kind: webhook}\n", "outputs[0].url"},
		{"webhook ftp", "outputs:\n  - {name: a, kind: webhook, url: ftp://x}\n", "outputs[0].url"},
		{"webhook credentials in url", "outputs:\n  - {name: a, kind: webhook, url: \"https://u:pw@x\"}\n", "outputs[0].url"},
		{"webhook with topic", "outputs:\n  - {name: a, kind: webhook, url: https://x, topic: t}\n", "outputs[0].topic"},
		{"webhook ca on http", "outputs:\n  - {name: a, kind: webhook, url: http://x, ca_file: ca.pem}\n", "outputs[0].ca_file"},
		{"bad verdicts", "outputs:\n  - {name: a, kind: webhook, url: https://x, verdicts: some}\n", "outputs[0].verdicts"},
		{"tiny queue", "outputs:\n  - {name: a, kind: webhook, url: https://x, max_queued: 1}\n", "outputs[0].max_queued"},
		{"long timeout", "outputs:\n  - {name: a, kind: webhook, url: https://x, timeout: 1h}\n", "outputs[0].timeout"},
		{"mqtt without topic", fleet + "outputs:\n  - {name: a, kind: mqtt}\n", "outputs[0].topic"},
		{"mqtt wildcard", fleet + "outputs:\n  - {name: a, kind: mqtt, topic: \"a/#\"}\n", "outputs[0].topic"},
		{"mqtt in the fleet's topics", fleet + "outputs:\n  - {name: a, kind: mqtt, topic: kioskd/v/till}\n", "outputs[0].topic"},
		{"mqtt without any broker", "outputs:\n  - {name: a, kind: mqtt, topic: t}\n", "outputs[0].broker"},
		{"mqtt fleet broker with own ca", fleet + "outputs:\n  - {name: a, kind: mqtt, topic: t, ca_file: x}\n", "outputs[0].broker"},
		{"mqtt bad broker", "outputs:\n  - {name: a, kind: mqtt, topic: t, broker: \"http://b\"}\n", "outputs[0].broker"},
		{"mqtt credentials in broker", "outputs:\n  - {name: a, kind: mqtt, topic: t, broker: \"mqtt://u:pw@b\"}\n", "outputs[0].broker"},
		{"mqtt with url", fleet + "outputs:\n  - {name: a, kind: mqtt, topic: t, url: https://x}\n", "outputs[0].url"},
		{"mqtt with secret", fleet + "outputs:\n  - {name: a, kind: mqtt, topic: t, secret_file: k}\n", "outputs[0].secret_file"},
		{"mqtt ca without tls", "outputs:\n  - {name: a, kind: mqtt, topic: t, broker: \"mqtt://b\", ca_file: x}\n", "outputs[0].ca_file"},
	} {
		_, err := Parse([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: error %v, want one naming %s", c.name, err, c.key)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error quotes a password: %v", c.name, err)
		}
	}
}

// The HMAC key is a secret like the others: a file beside the config (or
// in $CREDENTIALS_DIRECTORY), or the environment.
func TestOutputSecretRead(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kioskd.yaml")
	if err := os.WriteFile(cfg, []byte("outputs:\n  - {name: front-till, kind: webhook, url: https://x, secret_file: till.key}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "till.key"), []byte("k3y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := ReadSecret(c.OutputSecret(0)); err != nil || v != "k3y" {
		t.Fatalf("from the file: %q %v", v, err)
	}
	t.Setenv("KIOSKD_OUTPUT_FRONT_TILL_SECRET", "fromenv")
	if v, _, err := ReadSecret(c.OutputSecret(0)); err != nil || v != "fromenv" {
		t.Fatalf("from the environment: %q %v", v, err)
	}
}

// The commented example in configs/kioskd.yaml is valid once uncommented
// (with a fleet broker for its mqtt output).
func TestShippedOutputsExample(t *testing.T) {
	b, err := os.ReadFile("../configs/kioskd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\noutputs: []\n")
	if !ok {
		t.Fatal("configs/kioskd.yaml has no outputs: [] line")
	}
	y := "fleet: {broker: \"mqtt://b:1883\"}\noutputs:\n"
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
	c, err := Parse([]byte(y))
	if err != nil || len(c.Outputs) != 2 || n < 6 {
		t.Fatalf("the example (%d lines):\n%s\n%v %+v", n, y, err, c.Outputs)
	}
}
