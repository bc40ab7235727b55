package config

import (
	"os"
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
