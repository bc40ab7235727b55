package desk

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kioskd/kioskd/page"
	"github.com/kioskd/kioskd/verify"
)

// Kind is the page kind's name: an http.pages entry of kind desk.
const Kind = "desk"

func init() {
	page.Register(Kind, page.Kind{Open: openPage, Check: checkSettings, Preflight: preflight})
}

// Input names the desk's checks in their verdicts (verify.Verdict.Input).
const Input = "desk"

// Settings are an http.pages entry of kind desk.
type Settings struct {
	// StaffFile holds one "name token" pair a line (ParseStaff), or the
	// environment variable KIOSKD_DESK_STAFF. Required.
	StaffFile string `yaml:"staff_file"`
	// Check is redeem (a check-in: the code is used up, as at the door; the
	// default) or dry-run (look only, nothing recorded).
	Check string `yaml:"check"`
	// OpenOnAccept pulses the relay when a desk check accepts.
	OpenOnAccept bool `yaml:"open_on_accept"`
	// ManualOpens per ManualOpenWindow, all staff together (5 per 1m).
	ManualOpens      int           `yaml:"manual_opens"`
	ManualOpenWindow time.Duration `yaml:"manual_open_window"`
}

// staffEnv is the environment variable that may hold the staff file's text.
const staffEnv = "KIOSKD_DESK_STAFF"

func decodeSettings(decode func(any) error) (Settings, error) {
	s := Settings{Check: "redeem", ManualOpens: 5, ManualOpenWindow: time.Minute}
	if err := decode(&s); err != nil {
		return s, err
	}
	switch s.Check {
	case "redeem", "dry-run":
	default:
		return s, fmt.Errorf("check: must be redeem or dry-run, not %q", s.Check)
	}
	if s.ManualOpens < 1 || s.ManualOpens > 100 {
		return s, fmt.Errorf("manual_opens: must be between 1 and 100, not %d", s.ManualOpens)
	}
	if s.ManualOpenWindow < time.Second || s.ManualOpenWindow > 24*time.Hour {
		return s, fmt.Errorf("manual_open_window: must be between 1s and 24h, not %v", s.ManualOpenWindow)
	}
	if s.StaffFile == "" {
		return s, fmt.Errorf("staff_file: must be set (or $%s)", staffEnv)
	}
	return s, nil
}

func checkSettings(decode func(any) error) error {
	_, err := decodeSettings(decode)
	return err
}

// load decodes the settings and reads and parses the staff file: what
// opening the page and the SIGHUP preflight both need.
func load(decode func(any) error, readSecret func(key, file, env string) (string, error)) (Settings, []Staff, error) {
	s, err := decodeSettings(decode)
	if err != nil {
		return s, nil, err
	}
	text, err := readSecret("staff_file", s.StaffFile, staffEnv)
	if err != nil {
		return s, nil, err
	}
	staff, err := ParseStaff(text)
	if err != nil {
		// The file as the config names it (the operator's own words) or the
		// variable it came from; a line number and a name, never a token.
		where := "staff_file " + s.StaffFile
		if v, ok := os.LookupEnv(staffEnv); ok && v != "" {
			where = "staff_file (from $" + staffEnv + ")"
		}
		return s, nil, fmt.Errorf("%s: %w", where, err)
	}
	return s, staff, nil
}

func preflight(decode func(any) error, readSecret func(key, file, env string) (string, error)) error {
	_, _, err := load(decode, readSecret)
	return err
}

func openPage(_ context.Context, e page.Env) (page.Page, error) {
	s, staff, err := load(e.Decode, e.ReadSecret)
	if err != nil {
		return page.Page{}, err
	}
	dry := s.Check == "dry-run"
	d, err := New(Options{Staff: staff, CheckIn: !dry,
		Checker:  laneChecker{lane: e.Lane, o: page.SubmitOpts{DryRun: dry, Signal: s.OpenOnAccept, Input: Input}},
		Opener:   e.Door,
		MaxOpens: s.ManualOpens, OpenWindow: s.ManualOpenWindow, Logger: e.Logger})
	if err != nil {
		return page.Page{}, err
	}
	if e.Metrics != nil {
		if err := e.Metrics.Register(newCollector(d)); err != nil {
			e.Logger.Warn("registering the desk's metrics", "err", err)
		}
	}
	// The desk checks its own, named, staff tokens: not the listener's.
	return page.Page{Path: "/desk/", Handler: d.Handler(), Guard: page.Own}, nil
}

// laneChecker decides through the kiosk's own lane.
type laneChecker struct {
	lane page.Lane
	o    page.SubmitOpts
}

func (c laneChecker) Check(ctx context.Context, text string) verify.Verdict {
	return c.lane.SubmitWith(ctx, text, c.o)
}
