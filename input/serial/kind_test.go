package serial

import (
	"context"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
)

// decoder decodes an inputs: entry's own keys strictly, as config.Plugin does.
func decoder(src string) func(any) error {
	return func(into any) error {
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(into); err != nil && src != "" {
			return err
		}
		return nil
	}
}

func TestKindChecksItsKeys(t *testing.T) {
	kind, err := input.Lookup(KindName)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ yaml, key string }{
		{"", "device"},
		{"device: ttyACM0", "device"},
		{"device: /dev/x\nbaud: 10", "baud"},
		{"device: /dev/x\ndata_bits: 5", "data_bits"},
		{"device: /dev/x\nparity: mark", "parity"},
		{"device: /dev/x\nstop_bits: 3", "stop_bits"},
		{"device: /dev/x\nterminator: enter", "terminator"},
		{"device: /dev/x\ntrigger: " + strings.Repeat("T", 65), "trigger"},
		{"device: /dev/x\ntrigger_interval: 1ms", "trigger_interval"},
		{"device: /dev/x\nkey_timeout: 1s", "key_timeout"}, // a hid key: unknown here
	} {
		if err := kind.Check(decoder(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("Check(%q) = %v, want an error naming %s", tt.yaml, err, tt.key)
		}
	}
	if err := kind.Check(decoder("device: /dev/serial0\nbaud: 115200\nparity: even\ndata_bits: 7\nterminator: crlf\ntrigger: \"\\x16T\\r\"")); err != nil {
		t.Errorf("a good entry: %v", err)
	}
	in, err := kind.Open(context.Background(), input.Spec{Name: "desk", Decode: decoder("device: /dev/serial0\nbaud: 115200"),
		OnState: func(scanner.State) {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.(input.Text); !ok || in.Describe() != "serial /dev/serial0 115200 8N1" {
		t.Errorf("Open = %T %q, want a text input on the device", in, in.Describe())
	}
}
