package desk

import (
	"strings"
	"testing"
)

const tokA, tokB = "0123456789abcdef0123", "fedcba9876543210fedc"

func TestParseStaff(t *testing.T) {
	good := "# the desk\nada " + tokA + "\n\n  grace\t" + tokB + "  \n"
	st, err := ParseStaff(good)
	if err != nil || len(st) != 2 || st[0] != (Staff{"ada", tokA}) || st[1] != (Staff{"grace", tokB}) {
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
				if len(fs) == 2 && len(fs[1]) >= MinTokenLen && !names[fs[1]] && strings.Contains(err.Error(), fs[1]) {
					t.Fatalf("error quotes a token: %v", err)
				}
			}
			return
		}
		names := map[string]bool{}
		for _, s := range st {
			if !staffName(s.Name) || len(s.Token) < MinTokenLen || names[s.Name] || strings.ContainsAny(s.Token, " \t\n") {
				t.Fatalf("accepted %+v", s)
			}
			names[s.Name] = true
		}
	})
}
