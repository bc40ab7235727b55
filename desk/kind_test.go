package desk

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// yamlDecode decodes text strictly, as an http.pages entry's Decode does.
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

func TestDeskSettings(t *testing.T) {
	s, err := decodeSettings(yamlDecode("staff_file: staff\n"))
	if err != nil || s.Check != "redeem" || s.ManualOpens != 5 || s.ManualOpenWindow != time.Minute || s.OpenOnAccept {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	for _, tt := range []struct{ text, want string }{
		{"", "staff_file"},
		{"staff_file: s\ncheck: maybe\n", "check"},
		{"staff_file: s\nmanual_opens: 0\n", "manual_opens"},
		{"staff_file: s\nmanual_open_window: 10ms\n", "manual_open_window"},
		{"staff_file: s\nstaff: x\n", "staff"},
	} {
		if err := checkSettings(yamlDecode(tt.text)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error naming %q", tt.text, err, tt.want)
		}
	}
}
