package desk

import (
	"bytes"
	"errors"
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

// The SIGHUP preflight reads and parses the staff file as opening the page
// does: a bad one is an error naming the file (as configured, or the
// variable) and the line, never a token; a good one passes.
func TestDeskPreflight(t *testing.T) {
	const tok = "ada-5f1d0c2b9e8a7f6e"
	for _, tt := range []struct {
		name, text, env string
		readErr         error
		want            string // "" = no error
	}{
		{name: "good", text: "ada " + tok + "\n"},
		{name: "a line without a token", text: "ada " + tok + "\nlin\n", want: "staff_file staff: line 2: want \"name token\""},
		{name: "a duplicate name", text: "ada " + tok + "\nada grace-0a1b2c3d4e5f6a7b\n", want: `staff_file staff: line 2: name "ada" appears twice`},
		{name: "from the variable", text: "ada\n", env: "ada\n", want: "staff_file (from $KIOSKD_DESK_STAFF): line 1"},
		{name: "unreadable", readErr: errors.New("http.pages desk.staff_file: cannot read the file it names: permission denied"), want: "permission denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(staffEnv, tt.env)
			read := func(key, file, env string) (string, error) {
				if key != "staff_file" || file != "staff" || env != staffEnv {
					t.Errorf("read %q %q %q", key, file, env)
				}
				return tt.text, tt.readErr
			}
			err := preflight(yamlDecode("staff_file: staff\n"), read)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("preflight: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("preflight: %v, want %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), tok):
				t.Errorf("the error holds a token: %v", err)
			}
		})
	}
}
