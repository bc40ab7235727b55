// Package demo runs the whole kiosk on an embedded default: the real sync
// client against an in-process stand-in of the BitBadges API, a real bbolt
// store in a temporary folder, the real decoder on bundled camera frames
// replayed through the real replay source, the real policy, and the sim GPIO
// driver whose every transition is printed. It needs no camera, no GPIO and
// no network, and ends by itself.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/config"
	"github.com/kioskd/kioskd/configs"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/gpio/gpiosim"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
	"github.com/kioskd/kioskd/verify"
)

// Options tune a demo run; the zero value is `kioskd demo`.
type Options struct {
	// Logger receives the daemon's own logs; nil discards them (the demo
	// prints its story to out instead).
	Logger *slog.Logger
	// Extra is how many filler codes the stand-in serves besides the demo's,
	// to show the pagination at work; 0 = 120.
	Extra int
}

// Result is what a demo run saw, for tests.
type Result struct {
	Synced      int
	Verdicts    []verify.Verdict
	Transitions []gpiosim.Transition
	Pending     int
	// Gated are the verdicts of the badge-gated scene.
	Gated []verify.Verdict
	// Scanned are the simulated scanner input's verdicts (issue 20, scanner.go).
	Scanned []verify.Verdict
}

// Run runs the demo, printing to out.
func Run(ctx context.Context, out io.Writer, o Options) (Result, error) {
	var res Result
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &printer{w: out, start: time.Now()}

	cfg, err := config.Parse(configs.Demo)
	if err != nil {
		return res, fmt.Errorf("embedded demo config: %w", err)
	}
	dir, err := os.MkdirTemp("", "kioskd-demo-")
	if err != nil {
		return res, fmt.Errorf("making the demo's state folder: %w", err)
	}
	defer os.RemoveAll(dir)
	cfg.StateDir = dir

	// The stand-in BitBadges API, holding the demo's valid and dark-mode
	// codes (not its "unknown" one) among filler codes.
	valid, _, dark := demoframes.Codes()
	srv := bbtest.NewServer(bbtest.Options{ClientID: cfg.BitBadges.ClientID})
	defer srv.Close()
	srv.AddCode(valid, "Demo guest")
	srv.AddCode(dark, "Dark-mode guest")
	extra := o.Extra
	if extra == 0 {
		extra = 120
	}
	srv.AddCodes(extra)
	cfg.BitBadges.APIURL = srv.URL()
	so := srv.Options()
	for _, s := range []struct {
		file *string
		val  string
	}{{&cfg.BitBadges.APIKeyFile, so.APIKey}, {&cfg.BitBadges.ClientSecretFile, so.ClientSecret}, {&cfg.BitBadges.RefreshTokenFile, so.RefreshToken}} {
		f, err := os.CreateTemp(dir, "secret-")
		if err != nil {
			return res, err
		}
		_, werr := f.WriteString(s.val)
		if err := errors.Join(werr, f.Close()); err != nil {
			return res, fmt.Errorf("writing the demo's secrets: %w", err)
		}
		*s.file = f.Name()
	}

	// Frames: written out and replayed by the real dir: source.
	frames := filepath.Join(dir, "frames")
	if err := writeFrames(frames, sequence); err != nil {
		return res, err
	}
	cfg.Camera.Source = "dir:" + frames

	p.say("kioskd demo — everything real but the camera, the GPIO pins and BitBadges itself")
	p.say("BitBadges stand-in on %s with %d live codes", srv.URL(), len(srv.Codes()))

	// The daemon's own assembly: GPIO first, every output at its safe
	// level before anything else happens, then the store, the sync client
	// and the camera lane. The demo's frames are a script: each is shown,
	// even on a machine too slow for the frame rate, where a camera's would
	// be dropped.
	rec := gpiosim.NewRecorder(func(t gpiosim.Transition) {
		if !t.Initial {
			p.say("    %-10s %-6s %s", t.Label, t.Line, onOff(t.Active, t.Held))
		}
	})
	obs := &observer{p: p, names: sequence}
	d, err := assembly.Open(ctx, cfg, assembly.Options{Logger: log, Sim: rec, Script: true, Observer: obs})
	if err != nil {
		return res, fmt.Errorf("assembling the demo kiosk: %w", err)
	}
	defer d.Close()
	requested := 0
	for _, t := range rec.Transitions() {
		if t.Initial {
			requested++
		}
	}
	p.say("sim GPIO: %d outputs requested at their safe level (relay off)", requested)

	svc := d.Sync()
	r, err := svc.Syncer.Sync(ctx)
	if err != nil {
		return res, fmt.Errorf("syncing from the stand-in: %w", err)
	}
	res.Synced = r.Codes
	p.say("synced %d codes in %d pages in %v (%d soft-deleted left out) into %s (bbolt, by sha256 only)",
		r.Codes, r.Pages, r.Duration.Round(time.Millisecond), r.Deleted, filepath.Base(dir)+"/kioskd.db")

	sig := d.Signal()
	sig.Show(gpio.Idle)
	p.say("replaying %d frames at %d fps through the real decoder (%s)", len(obs.names), cfg.Camera.FPS, d.Describe())
	if err := d.Scan(ctx); err != nil {
		return res, err
	}
	// Let the last pulse run its course.
	time.Sleep(cfg.GPIO.Relay.Pulse + 200*time.Millisecond)
	if res.Scanned, err = scannerScene(ctx, p, &cfg, srv, d, log); err != nil {
		return res, fmt.Errorf("the scanner scene: %w", err)
	}
	if res.Gated, err = gatedScene(ctx, p, &cfg, srv, d, dir); err != nil {
		return res, err
	}
	time.Sleep(cfg.GPIO.Relay.Pulse + 200*time.Millisecond)
	if _, err := handoffScene(ctx, p, cfg.KioskID, d.Store(), append(obs.verdicts(), res.Gated...), log); err != nil { // issue 21: handoff.go
		return res, err
	}
	if res.Pending, err = d.Store().PendingCount(); err != nil {
		return res, err
	}
	if err := d.Close(); err != nil {
		return res, fmt.Errorf("releasing the GPIO: %w", err)
	}
	res.Verdicts = obs.verdicts()
	res.Transitions = rec.Transitions()
	acc := 0
	all := append(append(res.Verdicts, res.Scanned...), res.Gated...)
	for _, v := range all {
		if v.Accept {
			acc++
		}
	}
	p.say("done: %d verdicts (%d accepted), %d events waiting in the outbox for upload, relay released", len(all), acc, res.Pending)
	return res, nil
}

// sequence is the order the demo shows the bundled frames in. The frame
// without a QR between the two showings of code A is the code leaving the
// camera's view: only then does it count as presented again.
var sequence = []string{
	"01-code-a.png",
	"03-no-qr.png",
	"02-code-a-again.png",
	"04-code-b-unknown.png",
	"05-url-not-a-code.png",
	"06-dark-mode-code-c.png",
}

// writeFrames writes the bundled frames into dir, named so that the replay
// source (which takes a folder's images in name order) shows them in sequence.
func writeFrames(dir string, sequence []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("writing the demo frames: %w", err)
	}
	for i, name := range sequence {
		data, err := fs.ReadFile(demoframes.FS(), name)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s", i+1, name)), data, 0o600)
		}
		if err != nil {
			return fmt.Errorf("writing the demo frames: %w", err)
		}
	}
	return nil
}

func onOff(on bool, held time.Duration) string {
	if on {
		return "ON"
	}
	if held > 0 {
		return fmt.Sprintf("off (was on %.1fs)", held.Seconds())
	}
	return "off"
}

// printer serialises the demo's story lines from the pipeline and the GPIO
// goroutine, each stamped with the time since the start.
type printer struct {
	mu    stdsync.Mutex
	w     io.Writer
	start time.Time
}

func (p *printer) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%6.2fs  %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// observer prints what the pipeline sees and decides.
type observer struct {
	p     *printer
	names []string
	mu    stdsync.Mutex
	vs    []verify.Verdict
}

func (o *observer) Frame(f scanner.Frame, took time.Duration, found bool) {
	name := fmt.Sprintf("#%d", f.Seq)
	if i := int(f.Seq); i >= 1 && i <= len(o.names) {
		name = o.names[i-1]
	}
	what := "no QR"
	if found {
		what = "QR found"
	}
	o.p.say("frame %-22s %-9s decode %v", name, what, took.Round(10*time.Microsecond))
}

func (o *observer) Verdict(v verify.Verdict) {
	o.mu.Lock()
	o.vs = append(o.vs, v)
	o.mu.Unlock()
	word := "REJECT"
	if v.Accept {
		word = "ACCEPT"
	}
	who := ""
	if v.Name != "" {
		who = " — " + v.Name
	}
	hash := ""
	if len(v.Hash) >= 8 {
		hash = " code sha256 " + v.Hash[:8] + "…"
	}
	req := ""
	if v.Requirement != "" {
		req = " [" + v.Requirement + "]"
	}
	o.p.say("  => %s (%s)%s%s%s", word, v.Reason, req, who, hash)
}

func (o *observer) verdicts() []verify.Verdict {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]verify.Verdict(nil), o.vs...)
}

var _ kiosk.Observer = (*observer)(nil)
