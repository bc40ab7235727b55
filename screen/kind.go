package screen

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/kioskd/kioskd/page"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/verify"
	"github.com/prometheus/client_golang/prometheus"
)

// Kind is the page kind's name: an http.pages entry of kind screen.
const Kind = "screen"

func init() { page.Register(Kind, page.Kind{Open: openPage, Check: checkSettings}) }

// Settings are an http.pages entry of kind screen.
type Settings struct {
	// ShowName shows the record's display name with an accept.
	ShowName bool `yaml:"show_name"`
	// Hold is how long a verdict stays on screen (4s; 500ms-1m).
	Hold time.Duration `yaml:"hold"`
	// MaxClients bounds the pages connected at once (4; 1-32).
	MaxClients int `yaml:"max_clients"`
	// DeskChecks also shows the verdicts of a staff desk's checks (for a
	// desk at the door whose accepts open it); off: a visitor at the door
	// must not read "Welcome" for someone checked in at the desk.
	DeskChecks bool `yaml:"desk_checks"`
}

func decodeSettings(decode func(any) error) (Settings, error) {
	s := Settings{Hold: 4 * time.Second, MaxClients: 4}
	if err := decode(&s); err != nil {
		return s, err
	}
	if s.Hold < 500*time.Millisecond || s.Hold > time.Minute {
		return s, fmt.Errorf("hold: must be between 500ms and 1m, not %v", s.Hold)
	}
	if s.MaxClients < 1 || s.MaxClients > 32 {
		return s, fmt.Errorf("max_clients: must be between 1 and 32, not %d", s.MaxClients)
	}
	return s, nil
}

func checkSettings(decode func(any) error) error {
	_, err := decodeSettings(decode)
	return err
}

func openPage(_ context.Context, e page.Env) (page.Page, error) {
	s, err := decodeSettings(e.Decode)
	if err != nil {
		return page.Page{}, err
	}
	o := Options{ShowName: s.ShowName, Hold: s.Hold, MaxClients: s.MaxClients, Logger: e.Logger}
	if e.Health != nil {
		o.Health = func() Faults {
			h := e.Health()
			return Faults{Camera: h.Camera, Store: h.Store, Clock: h.Clock}
		}
	}
	scr := New(o)
	var hint func(scanner.Hint)
	if e.Hints != nil {
		hint = func(h scanner.Hint) { scr.Hint(fromScanner(h)) }
	}
	follow := func(v verify.Verdict) {
		if v.Input != deskInput || s.DeskChecks {
			scr.Verdict(v)
		}
	}
	if e.Metrics != nil {
		c := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kioskd_screen_clients", Help: "Scan-mode screen pages connected now."},
			func() float64 { return float64(scr.Clients()) })
		if err := e.Metrics.Register(c); err != nil {
			e.Logger.Warn("registering the screen's metrics", "err", err)
		}
	}
	// The kiosk's own display (loopback) needs no token, any other client
	// the listener's.
	return page.Page{Path: "/screen/", Handler: runner{Handler: scr.Handler(), scr: scr, verdicts: e.Verdicts, follow: follow, hints: e.Hints, hint: hint}, Guard: page.TokenOffLoopback}, nil
}

// fromScanner maps the camera lane's hint onto the screen's.
func fromScanner(h scanner.Hint) Hint {
	switch h {
	case scanner.HintTooDark:
		return HintTooDark
	case scanner.HintTooFar:
		return HintTooFar
	case scanner.HintBlurred:
		return HintBlurry
	}
	return HintNone
}

// deskInput is the input name the staff desk's checks carry (desk.Input).
const deskInput = "desk"

// runner is the page's handler with the screen's clock (page.Runner): it
// follows the verdicts while it runs.
type runner struct {
	http.Handler
	scr      *Screen
	verdicts page.Verdicts
	follow   func(verify.Verdict)
	hints    page.Hints
	hint     func(scanner.Hint)
}

func (r runner) Run(ctx context.Context) error {
	if r.verdicts != nil {
		defer r.verdicts.Subscribe(r.follow)()
	}
	if r.hints != nil {
		defer r.hints.Subscribe(r.hint)()
	}
	return r.scr.Run(ctx)
}
