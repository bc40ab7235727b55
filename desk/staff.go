package desk

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// MinTokenLen is the shortest staff token accepted: 16 characters of
// `openssl rand -hex 16` are 32, so this only stops the obviously guessable.
const MinTokenLen = 16

// ParseStaff reads the staff file's text: one "name token" a line. Names
// are 1-32 letters, digits, '.', '_' or '-' and unique; tokens at least
// MinTokenLen characters with no space, and unique. Errors give the
// line number and the name, never a token.
func ParseStaff(text string) ([]Staff, error) {
	var out []Staff
	names := map[string]bool{}
	tokens := map[[32]byte]bool{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n := i + 1
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: want \"name token\" (two fields), found %d", n, len(fields))
		}
		name, token := fields[0], fields[1]
		if !staffName(name) {
			return nil, fmt.Errorf("line %d: the name must be 1-32 letters, digits, '.', '_' or '-'", n)
		}
		if names[name] {
			return nil, fmt.Errorf("line %d: name %q appears twice", n, name)
		}
		if len(token) < MinTokenLen {
			return nil, fmt.Errorf("line %d (%s): the token is shorter than %d characters", n, name, MinTokenLen)
		}
		sum := sha256.Sum256([]byte(token))
		if tokens[sum] {
			return nil, fmt.Errorf("line %d (%s): the token is another name's too; each person needs their own", n, name)
		}
		names[name], tokens[sum] = true, true
		out = append(out, Staff{Name: name, Token: token})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no \"name token\" line")
	}
	return out, nil
}

func staffName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
