package config

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"time"
)

// Desk is the staff desk: a page on the local listener (/desk/) where staff
// check a code by hand (typed, pasted, or scanned with a keyboard-wedge
// handheld into the page) and open the door on purpose, with a reason. Every
// request needs one of the named staff tokens of StaffFile.
type Desk struct {
	Enabled bool `yaml:"enabled"`
	// StaffFile holds one "name token" pair a line (# comments and blank
	// lines allowed), or env KIOSKD_DESK_STAFF. The name goes into the
	// manual-open events and the log; the token never does.
	StaffFile string `yaml:"staff_file"`
	// Check is what a desk check does: redeem (the default: it is a check-in,
	// the code is used up as at the door) or dry-run (look only, nothing
	// recorded).
	Check string `yaml:"check"`
	// OpenOnAccept pulses the door relay (and shows the accept pattern) when
	// a desk check accepts; off by default: the visitor is at the desk.
	OpenOnAccept bool `yaml:"open_on_accept"`
	// ManualOpens manual opens are allowed per ManualOpenWindow, all staff
	// together; more are refused (429) and logged.
	ManualOpens      int           `yaml:"manual_opens"`
	ManualOpenWindow time.Duration `yaml:"manual_open_window"`
}

// Desk check modes.
const (
	DeskRedeem = "redeem"
	DeskDryRun = "dry-run"
)

func defaultDesk() Desk {
	return Desk{Check: DeskRedeem, ManualOpens: 5, ManualOpenWindow: time.Minute}
}

// StaffSecret says where the desk's staff tokens come from.
func (c *Config) StaffSecret() Secret {
	return Secret{Key: "desk.staff_file", Name: c.Desk.StaffFile, File: c.Resolve(c.Desk.StaffFile), Env: "KIOSKD_DESK_STAFF"}
}

func (d *Desk) validate() error {
	switch d.Check {
	case DeskRedeem, DeskDryRun:
	default:
		return keyErr("desk.check", "must be redeem or dry-run, not %q", d.Check)
	}
	if d.ManualOpens < 1 || d.ManualOpens > 100 {
		return keyErr("desk.manual_opens", "must be between 1 and 100, not %d", d.ManualOpens)
	}
	if d.ManualOpenWindow < time.Second || d.ManualOpenWindow > 24*time.Hour {
		return keyErr("desk.manual_open_window", "must be between 1s and 24h, not %v", d.ManualOpenWindow)
	}
	if d.Enabled && d.StaffFile == "" && os.Getenv("KIOSKD_DESK_STAFF") == "" {
		return keyErr("desk.staff_file", "must be set when desk.enabled (or set KIOSKD_DESK_STAFF)")
	}
	return nil
}

// StaffToken is one named staff token of desk.staff_file.
type StaffToken struct {
	Name  string
	Token string
}

// MinStaffTokenLen is the shortest staff token accepted: 16 characters of
// `openssl rand -hex 16` are 32, so this only stops the obviously guessable.
const MinStaffTokenLen = 16

// ParseStaff reads desk.staff_file's text: one "name token" a line. Names
// are 1-32 letters, digits, '.', '_' or '-' and unique; tokens at least
// MinStaffTokenLen characters with no space, and unique. Errors give the
// line number and the name, never a token.
func ParseStaff(text string) ([]StaffToken, error) {
	var out []StaffToken
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
			return nil, fmt.Errorf("desk.staff_file line %d: want \"name token\" (two fields), found %d", n, len(fields))
		}
		name, token := fields[0], fields[1]
		if !staffName(name) {
			return nil, fmt.Errorf("desk.staff_file line %d: the name must be 1-32 letters, digits, '.', '_' or '-'", n)
		}
		if names[name] {
			return nil, fmt.Errorf("desk.staff_file line %d: name %q appears twice", n, name)
		}
		if len(token) < MinStaffTokenLen {
			return nil, fmt.Errorf("desk.staff_file line %d (%s): the token is shorter than %d characters", n, name, MinStaffTokenLen)
		}
		sum := sha256.Sum256([]byte(token))
		if tokens[sum] {
			return nil, fmt.Errorf("desk.staff_file line %d (%s): the token is another name's too; each person needs their own", n, name)
		}
		names[name], tokens[sum] = true, true
		out = append(out, StaffToken{Name: name, Token: token})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("desk.staff_file: no \"name token\" line")
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

// StaffTokens reads and parses desk.staff_file (see ParseStaff), with
// ReadSecret's warning for a file every user can read.
func (c *Config) StaffTokens() ([]StaffToken, string, error) {
	text, warn, err := ReadSecret(c.StaffSecret())
	if err != nil {
		return nil, warn, err
	}
	if text == "" {
		return nil, warn, fmt.Errorf("desk.staff_file (or $KIOSKD_DESK_STAFF) is required when desk.enabled")
	}
	st, err := ParseStaff(text)
	return st, warn, err
}
