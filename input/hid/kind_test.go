package hid

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
		{"device: event3", "device"},
		{"device: /dev/x\nterminator: cr", "terminator"},
		{"device: /dev/x\nkey_timeout: 1m", "key_timeout"},
		{"device: /dev/x\nbaud: 9600", "baud"}, // a serial key: unknown here
	} {
		if err := kind.Check(decoder(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("Check(%q) = %v, want an error naming %s", tt.yaml, err, tt.key)
		}
	}
	if err := kind.Check(decoder("device: /dev/input/by-id/x-event-kbd\nterminator: tab\nkey_timeout: 50ms")); err != nil {
		t.Errorf("a good entry: %v", err)
	}
	in, err := kind.Open(context.Background(), input.Spec{Name: "desk", Decode: decoder("device: /dev/input/event3"),
		OnState: func(scanner.State) {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.(input.Text); !ok || in.Describe() != "hid /dev/input/event3" {
		t.Errorf("Open = %T %q, want a text input on the device", in, in.Describe())
	}
}
