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

const tokA, tokB = "0123456789abcdef0123", "fedcba9876543210fedc"

func TestParseStaff(t *testing.T) {
	good := "# the desk\nada " + tokA + "\n\n  grace\t" + tokB + "  \n"
	st, err := ParseStaff(good)
	if err != nil || len(st) != 2 || st[0] != (StaffToken{"ada", tokA}) || st[1] != (StaffToken{"grace", tokB}) {
		t.Fatalf("ParseStaff: %v %+v", err, st)
	}
	bad := []struct{ name, text, want string }{
		{"one field", "ada\n", "line 1"},
		{"three fields", "ada " + tokA + " extra\n", "two fields"},
		{"short token", "ada short-token\n", "shorter than 16"},
		{"bad name", "a/b " + tokA + "\n", "name must be"},
		{"name twice", "ada " + tokA + "\nada " + tokB + "\n", "appears twice"},
		{"token shared", "ada " + tokA + "\ngrace " + tokA + "\n", "line 2 (grace)"},
		{"nothing", "# only a comment\n", "no \"name token\""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStaff(tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			for _, tok := range []string{tokA, tokB, "short-token"} {
				if strings.Contains(err.Error(), tok) {
					t.Errorf("the error quotes a token: %v", err)
				}
			}
		})
	}
}

func TestStaffTokensFromFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "kioskd.yaml")
	os.WriteFile(cfgPath, []byte("state_dir: st\ndesk:\n  enabled: true\n  staff_file: staff\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "staff"), []byte("ada "+tokA+"\n"), 0o600)
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, warn, err := c.StaffTokens()
	if err != nil || warn != "" || len(st) != 1 || st[0].Name != "ada" {
		t.Fatalf("StaffTokens: %v %q %+v", err, warn, st)
	}
}

// FuzzParseStaff: any text is parsed or refused without a panic, what is
// accepted keeps the rules, and no error quotes a token it was given.
func FuzzParseStaff(f *testing.F) {
	f.Add("ada " + tokA + "\n# c\ngrace " + tokB + "\n")
	f.Add("ada\n")
	f.Add("a/b " + tokA)
	f.Add("ada " + tokA + "\nbob " + tokA)
	f.Fuzz(func(t *testing.T, text string) {
		st, err := ParseStaff(text)
		if err != nil {
			names := map[string]bool{}
			for _, line := range strings.Split(text, "\n") {
				if fs := strings.Fields(line); len(fs) > 0 {
					names[fs[0]] = true
				}
			}
			for _, line := range strings.Split(text, "\n") {
				fs := strings.Fields(line)
				// A token that is also written as a name is quoted as that name.
				if len(fs) == 2 && len(fs[1]) >= MinStaffTokenLen && !names[fs[1]] && strings.Contains(err.Error(), fs[1]) {
					t.Fatalf("error quotes a token: %v", err)
				}
			}
			return
		}
		names := map[string]bool{}
		for _, s := range st {
			if !staffName(s.Name) || len(s.Token) < MinStaffTokenLen || names[s.Name] || strings.ContainsAny(s.Token, " \t\n") {
				t.Fatalf("accepted %+v", s)
			}
			names[s.Name] = true
		}
	})
}
