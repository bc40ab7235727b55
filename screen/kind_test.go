package screen

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func yamlDecode(text string) func(any) error {
	return func(into any) error {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
		dec.KnownFields(true)
		if err := dec.Decode(into); err != nil && err.Error() != "EOF" {
			return err
		}
		return nil
	}
}

func TestScreenSettings(t *testing.T) {
	s, err := decodeSettings(yamlDecode(""))
	if err != nil || s.Hold != 4*time.Second || s.MaxClients != 4 || s.ShowName || s.DeskChecks {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	for _, tt := range []struct{ text, want string }{
		{"hold: 100ms\n", "hold"},
		{"max_clients: 0\n", "max_clients"},
		{"show_names: true\n", "show_names"},
	} {
		if err := checkSettings(yamlDecode(tt.text)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error naming %q", tt.text, err, tt.want)
		}
	}
}
