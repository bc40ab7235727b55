package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kioskd/kioskd/hwtest/internal/gpiosim"
	"github.com/kioskd/kioskd/hwtest/internal/v4lout"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

const kioskdBin = "/bin/kioskd"

// Timing of the kiosk under test and the tolerances the scenarios hold it to.
// The lower bound of a relay pulse is tight (kioskd must never cut it short);
// the upper bound and the latency budgets are loose because TCG emulation
// runs several times slower than a Raspberry Pi and the guest has 2 vCPUs
// shared by kioskd, the frame writer and the 1 ms sampler.
const (
	pulse        = time.Second
	pulseEarly   = 5 * time.Millisecond   // pulse may end this much early (clock granularity)
	pulseLate    = time.Second            // ... or this much late: kioskd's timer was seen 0.5 s late under a loaded host
	verdictWait  = 5 * time.Second        // a shown code must get its verdict within this
	quietWindow  = 2 * time.Second        // how long "relay untouched" is watched
	rearm        = 500 * time.Millisecond // camera.rearm in the config
	samplePeriod = time.Millisecond
	// bounceMax is the longest a "bounce" may be held low to count as one:
	// well below the 50 ms debounce of the exit button.
	bounceMax = 40 * time.Millisecond
)

// code returns a deterministic 64-hex kiosk code for a name.
func code(name string) string {
	s := sha256.Sum256([]byte("hwtest:" + name))
	return hex.EncodeToString(s[:])
}

// session is one kioskd process with its stand-in BitBadges server, its
// camera feeder and the watcher on the simulated lines.
type session struct {
	chip     *gpiosim.Chip
	relayLow bool // relay active_low in the config
	dir      string
	srv      *bbtest.Server
	feed     *feeder
	watch    *gpiosim.Watcher
	trace    *gpiosim.Tracer
	relayNum int // the relay line's global GPIO number, as trace events name it
	cmd      *exec.Cmd
	log      bytes.Buffer
	exited   chan struct{}
	exitErr  error
	exitAt   time.Time
	started  time.Time
	notify   *net.UnixConn   // kioskd's NOTIFY_SOCKET, as systemd would hold it
	ready    chan struct{}   // closed when kioskd sent READY=1
	latency  []time.Duration // frame first written -> relay active, per accept
	firstAcc time.Time       // first time a valid code was shown
	// scan, when set, is the virtual USB scanner kioskd reads as a hid
	// input (scanner_kioskd.go): codes are typed on it instead of shown.
	scan     *scanner
	scanOnly bool // the scanner without the camera (inputs: lists only it)
	stopped  bool
}

// active is the line level that means "on" for line off.
func (s *session) active(off int) int {
	if off == lineRelay && s.relayLow {
		return 0
	}
	return 1
}

func (s *session) config() string {
	relayLow := "false"
	if s.relayLow {
		relayLow = "true"
	}
	return fmt.Sprintf(`state_dir: %s/state
kiosk_id: hwtest
log_level: debug
bitbadges:
  api_url: %s
  client_id: %s
  sync_schedule: "0 0 1 1 *"
policy:
  reuse: single
camera:
  source: %s
  width: 640
  height: 480
  fps: 15
  format: YUYV
  buffers: 2
  rearm: %s
gpio:
  driver: cdev
  chip: %s
  accept_led: {line: GPIO27}
  reject_led: {line: GPIO22}
  relay:
    line: GPIO17
    active_low: %s
    pulse: %s
    fail_mode: secure
  exit_button: {line: GPIO5, active_low: true, pull: up, debounce: 50ms}
  accept_for: 500ms
  reject_for: 500ms
http:
  listen: ""
`, s.dir, s.srv.URL(), s.srv.Options().ClientID, s.cameraSource(), rearm, chipLabel, relayLow, pulse) + s.inputsConfig()
}

// start brings up the stand-in server with the given valid codes, the
// camera (blank frames) and the sampler, then kioskd; it returns once kioskd
// has synced and finished its start-up pattern.
func (s *session) start(valid []string) error {
	s.dir = fmt.Sprintf("/tmp/kioskd-%d", time.Now().UnixNano())
	if err := os.MkdirAll(filepath.Join(s.dir, "state"), 0o700); err != nil {
		return err
	}
	s.srv = bbtest.NewServer(bbtest.Options{ClientID: "hwtest-kiosk"})
	for i, c := range valid {
		s.srv.AddCode(c, fmt.Sprintf("guest %d", i))
	}
	cfg := filepath.Join(s.dir, "kioskd.yaml")
	if err := os.WriteFile(cfg, []byte(s.config()), 0o600); err != nil {
		return err
	}
	// The relay's resting level before kioskd owns it is set by the board's
	// pull resistor: pull-up for an active-low relay module, down otherwise.
	if err := s.chip.SetPull(lineRelay, s.relayLow); err != nil {
		return err
	}
	for _, off := range []int{lineOK, lineNo} {
		if err := s.chip.SetPull(off, false); err != nil {
			return err
		}
	}
	// The exit button rests high (pull-up), pressed connects it to ground.
	if err := s.chip.SetPull(lineExit, true); err != nil {
		return err
	}
	s.feed = newFeeder(videoDev, 640, 480, 15)
	if err := s.feed.start(); err != nil {
		return err
	}
	w, err := s.chip.Watch(samplePeriod)
	if err != nil {
		return err
	}
	s.watch = w
	time.Sleep(20 * time.Millisecond) // a few samples from before kioskd exists
	base, err := s.chip.Base()
	if err != nil {
		return err
	}
	s.relayNum = base + lineRelay
	if s.trace, err = gpiosim.StartTrace(); err != nil {
		return err
	}
	if err := s.trace.Mark("hwtest: exec kioskd"); err != nil {
		return err
	}
	// READY=1 on the notify socket is kioskd's own word that it runs (the
	// LEDs alone are not: under TCG a stalled start-up looks quiet too).
	sock := filepath.Join(s.dir, "notify.sock")
	if s.notify, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"}); err != nil {
		return err
	}
	s.ready = make(chan struct{})
	go func(c *net.UnixConn, ready chan struct{}) {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				if l == "READY=1" {
					close(ready)
					return
				}
			}
		}
	}(s.notify, s.ready)
	o := s.srv.Options()
	s.cmd = exec.Command(kioskdBin, "run", "-config", cfg)
	s.cmd.Env = append(os.Environ(),
		"NOTIFY_SOCKET="+sock,
		"KIOSKD_BITBADGES_API_KEY="+o.APIKey,
		"KIOSKD_BITBADGES_CLIENT_SECRET="+o.ClientSecret,
		"KIOSKD_BITBADGES_REFRESH_TOKEN="+o.RefreshToken)
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	s.started = time.Now()
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting kioskd: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.exitErr = s.cmd.Wait()
		s.exitAt = time.Now()
		close(s.exited)
	}()
	// kioskd runs as systemd would start it, at normal priority: a child
	// forked from the sampler's real-time thread once inherited SCHED_FIFO
	// and starved the harness until the VM's timeout.
	if p, err := gpiosim.Policy(s.cmd.Process.Pid); err != nil || p != 0 {
		return fmt.Errorf("kioskd's scheduling policy is %d (want 0, SCHED_OTHER): %v", p, err)
	}
	// Ready = kioskd said READY=1, the pre-fetch was served, and the LEDs
	// have been quiet for a while since (the Starting pattern alternates
	// them every 250 ms; the sampler may lag behind the last edge).
	deadline := time.Now().Add(60 * time.Second)
	notified := false
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("kioskd exited during start-up: %v", s.exitErr)
		case <-s.ready:
			notified = true
		default:
		}
		if notified && s.srv.Counts().Pages > 0 && s.quietSince(lineOK, lineNo) > 800*time.Millisecond {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("kioskd not ready within 60s (READY=1 received: %v; pages served %d)", notified, s.srv.Counts().Pages)
}

// quietSince is how long the given lines have not changed.
func (s *session) quietSince(lines ...int) time.Duration {
	last := s.started
	for _, e := range s.watch.Edges() {
		for _, l := range lines {
			if e.Line == l && e.At.After(last) {
				last = e.At
			}
		}
	}
	return time.Since(last)
}

// stop ends kioskd (if running), the sampler, the camera and the server.
func (s *session) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				s.cmd.Process.Kill()
				<-s.exited
			}
		}
	}
	if s.notify != nil {
		s.notify.Close()
	}
	if s.watch != nil {
		s.watch.Stop()
	}
	if s.trace != nil {
		s.trace.Stop()
	}
	if s.feed != nil {
		s.feed.stop()
	}
	if s.srv != nil {
		s.srv.Close()
	}
}

// logTail is the end of kioskd's output, shown only when a scenario fails.
func (s *session) logTail() string {
	lines := strings.Split(strings.TrimSpace(s.log.String()), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return strings.Join(lines, "\n")
}

// waitEdge waits until line off reaches level v at or after t, returning
// when the sampler first saw it.
func (s *session) waitEdge(off, v int, t time.Time, within time.Duration) (time.Time, error) {
	e, err := s.waitEdgeFull(off, v, t, within)
	return e.At, err
}

func (s *session) waitEdgeFull(off, v int, t time.Time, within time.Duration) (gpiosim.Edge, error) {
	deadline := t.Add(within)
	for {
		for _, e := range s.watch.Since(t) {
			if e.Line == off && e.Value == v {
				return e, nil
			}
		}
		if time.Now().After(deadline) {
			return gpiosim.Edge{}, fmt.Errorf("%s did not go to %d within %v", lineNames[off], v, within)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// relayTouched reports the first relay change to active in [from, to).
func (s *session) relayTouched(from, to time.Time) error {
	for _, e := range s.watch.Since(from) {
		if e.At.Before(to) && e.Line == lineRelay && e.Value == s.active(lineRelay) {
			return fmt.Errorf("relay went active %v after %v", e.At.Sub(from).Round(time.Millisecond), from.Sub(s.started).Round(time.Millisecond))
		}
	}
	return nil
}

func (s *session) showCode(text string) (time.Time, error) {
	f, err := v4lout.QR(text, 640, 480, 300)
	if err != nil {
		return time.Time{}, err
	}
	return s.feed.show(f)
}

// away blanks the camera for long enough that the next code counts as a new
// presentation.
func (s *session) away() error {
	if err := s.feed.blank(); err != nil {
		return err
	}
	time.Sleep(rearm + 700*time.Millisecond)
	return nil
}

// expectAccept shows a valid code and checks the relay pulse and green LED.
func (s *session) expectAccept(c string) (string, error) {
	return s.expectAcceptWithin(c, verdictWait)
}

func (s *session) expectAcceptWithin(c string, wait time.Duration) (string, error) {
	shown, err := s.present(c)
	if err != nil {
		return "", err
	}
	if s.firstAcc.IsZero() {
		s.firstAcc = shown
		s.trace.Mark("hwtest: first valid code shown")
	}
	onE, err := s.waitEdgeFull(lineRelay, s.active(lineRelay), shown, wait)
	if err != nil {
		return "", fmt.Errorf("no accept: %w", err)
	}
	on := onE.At
	lat := on.Sub(shown)
	s.latency = append(s.latency, lat)
	green, err := s.waitEdge(lineOK, 1, shown, wait)
	if err != nil {
		return "", fmt.Errorf("relay pulsed but %w", err)
	}
	offE, err := s.waitEdgeFull(lineRelay, 1-s.active(lineRelay), on, pulse+2*time.Second)
	if err != nil {
		return "", fmt.Errorf("relay stuck: %w", err)
	}
	off := offE.At
	// The pulse really lasted between shortest and longest: each edge is
	// only known to lie between two samples.
	held := off.Sub(on)
	shortest, longest := offE.Prev.Sub(on), off.Sub(onE.Prev)
	if longest < pulse-pulseEarly || shortest > pulse+pulseLate {
		return "", fmt.Errorf("relay held %v (between %v and %v by the samples), want %v (-%v/+%v)", held.Round(time.Millisecond),
			shortest.Round(time.Millisecond), longest.Round(time.Millisecond), pulse, pulseEarly, pulseLate)
	}
	// The accept light must not be mixed with a reject. (Red may blink
	// while the relay is still open once green is over: that is a standing
	// fault indication, e.g. the camera-down fault clearing a moment after
	// the camera came back.)
	greenOff, err := s.waitEdge(lineOK, 0, green, 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("accept LED stuck: %w", err)
	}
	for _, e := range s.watch.Since(green) {
		if e.At.Before(greenOff) && e.Line == lineNo && e.Value == 1 {
			return "", errors.New("reject LED lit while the accept LED was")
		}
	}
	return fmt.Sprintf("frame->relay %v, relay held %v [%v..%v] (want %v -%v/+%v)", lat.Round(time.Millisecond),
		held.Round(time.Millisecond), shortest.Round(time.Millisecond), longest.Round(time.Millisecond), pulse, pulseEarly, pulseLate), nil
}

// expectReject shows text and checks the red LED lights while the relay stays
// untouched for quietWindow.
func (s *session) expectReject(text string) (string, error) {
	shown, err := s.present(text)
	if err != nil {
		return "", err
	}
	red, err := s.waitEdge(lineNo, 1, shown, verdictWait)
	if err != nil {
		return "", fmt.Errorf("no reject: %w", err)
	}
	time.Sleep(time.Until(shown.Add(quietWindow)))
	if err := s.relayTouched(shown, time.Now()); err != nil {
		return "", err
	}
	for _, e := range s.watch.Since(shown) {
		if e.Line == lineOK && e.Value == 1 {
			return "", errors.New("accept LED lit on a reject")
		}
	}
	return fmt.Sprintf("frame->red %v, relay untouched for %v", red.Sub(shown).Round(time.Millisecond), quietWindow), nil
}

// kioskdScenarios runs the real daemon through the scenarios. They
// share one kioskd process in order (the cache state carries over), then a
// second process checks an active-low relay.
func kioskdScenarios(chip *gpiosim.Chip) []scenario {
	var s *session
	var lats []time.Duration // frame first written -> relay active, every accept
	collect := func() {
		if s != nil {
			lats = append(lats, s.latency...)
			s.latency = nil
		}
	}
	codeA, codeB, codeC, codeD := code("A"), code("B"), code("C"), code("D")
	fail := func(err error) (string, error) {
		if err != nil && s != nil {
			fmt.Printf("---- kioskd output (last lines) ----\n%s\n----\n", s.logTail())
		}
		return "", err
	}
	need := func() error {
		if s == nil || s.cmd == nil {
			return errors.New("kioskd is not running (an earlier scenario failed)")
		}
		select {
		case <-s.exited:
			return fmt.Errorf("kioskd exited: %v", s.exitErr)
		default:
		}
		return nil
	}
	step := func(fn func() (string, error)) func() (string, error) {
		return func() (string, error) {
			if err := need(); err != nil {
				return "", err
			}
			d, err := fn()
			if err != nil {
				return fail(err)
			}
			return d, nil
		}
	}
	return slices.Concat([]scenario{
		{"kioskd.1-safe-at-start", func() (string, error) {
			s = &session{chip: chip}
			if err := s.start([]string{codeA, codeB, codeC, codeD}); err != nil {
				return fail(err)
			}
			return s.safeAtStart()
		}},
		{"kioskd.2-accept-pulse", step(func() (string, error) { return s.expectAccept(codeA) })},
		{"kioskd.3-reuse-rejected", step(func() (string, error) {
			if err := s.away(); err != nil {
				return "", err
			}
			return s.expectReject(codeA)
		})},
		{"kioskd.4a-unknown-rejected", step(func() (string, error) {
			if err := s.away(); err != nil {
				return "", err
			}
			return s.expectReject(code("not in the cache"))
		})},
		{"kioskd.4b-not-a-code-rejected", step(func() (string, error) {
			if err := s.away(); err != nil {
				return "", err
			}
			return s.expectReject("https://example.com/menu")
		})},
		{"kioskd.5-camera-gone-and-back", step(func() (string, error) { return s.cameraGoneAndBack(codeB) })},
		{"kioskd.6-exit-button-opens", step(func() (string, error) { return s.exitButton() })},
		{"kioskd.7-sigterm-releases-relay", step(func() (string, error) { return s.sigtermReleases(codeC) })},
		{"kioskd.8-active-low-relay", func() (string, error) {
			if s != nil {
				collect()
				s.stop()
			}
			s = &session{chip: chip, relayLow: true}
			if err := s.start([]string{codeD}); err != nil {
				return fail(err)
			}
			d1, err := s.safeAtStart()
			if err != nil {
				return fail(err)
			}
			d2, err := s.expectAccept(codeD)
			if err != nil {
				return fail(err)
			}
			collect()
			s.stop()
			return "idle high; " + d1 + "; " + d2, nil
		}},
	}, scannerScenarios(chip, &s, collect, fail), []scenario{
		{"latency.frame-to-relay", func() (string, error) {
			collect()
			if len(lats) == 0 {
				return "", errors.New("no accept was measured")
			}
			slices.Sort(lats)
			return fmt.Sprintf("n=%d min %v median %v max %v (frame first written to /dev/video7 -> relay line seen changed; TCG emulation, not a Pi)",
				len(lats), lats[0].Round(time.Millisecond), lats[len(lats)/2].Round(time.Millisecond), lats[len(lats)-1].Round(time.Millisecond)), nil
		}},
	})
}

// safeAtStart checks the lines from before kioskd existed until it was
// ready: the relay never left its inactive level, and the LEDs (which may
// show the Starting pattern) are dark once kioskd is idle.
func (s *session) safeAtStart() (string, error) {
	inactive := 1 - s.active(lineRelay)
	relaySamples, ledEdges := 0, 0
	for _, e := range s.watch.Edges() {
		switch e.Line {
		case lineRelay:
			relaySamples++
			if e.Value != inactive {
				return "", fmt.Errorf("relay at its active level %v after kioskd started", e.At.Sub(s.started).Round(time.Millisecond))
			}
		default:
			if e.At.After(s.started) {
				ledEdges++
			}
		}
	}
	for _, off := range []int{lineOK, lineNo} {
		if lv := s.watch.Level(off); lv != 0 {
			return "", fmt.Errorf("%s still lit once kioskd is ready", lineNames[off])
		}
	}
	sets, err := s.relayTrace(func(e gpiosim.TraceEvent) error {
		if e.Value != inactive {
			return fmt.Errorf("the kernel traced %s setting the relay to its active level %d before any code was shown", e.Comm, e.Value)
		}
		return nil
	}, "hwtest: exec kioskd", "hwtest: first valid code shown")
	if err != nil {
		return "", err
	}
	if sets == 0 {
		return "", errors.New("the kernel traced no level set on the relay line: kioskd never drove it to its safe level")
	}
	prio, gap := s.watch.Stats()
	return fmt.Sprintf("kernel trace: %d relay level sets, all %d; relay sampled at %d for %v from before exec to ready (sampled every %v, %s, longest gap %v); %d LED edges of the starting pattern, dark when ready",
		sets, inactive, inactive, time.Since(s.started).Round(time.Millisecond), samplePeriod, prio, gap.Round(time.Millisecond), ledEdges), nil
}

// cameraGoneAndBack closes the writer (the capture side disappears with
// exclusive_caps=1), expects the fault on the red LED with the relay left
// alone (fail_mode secure), then restores the camera and expects a new valid
// code to be accepted by the same kioskd process.
func (s *session) cameraGoneAndBack(c string) (string, error) {
	if err := s.away(); err != nil {
		return "", err
	}
	pid := s.cmd.Process.Pid
	gone := time.Now()
	if err := s.feed.stop(); err != nil {
		return "", fmt.Errorf("stopping the writer: %w", err)
	}
	red, err := s.waitEdge(lineNo, 1, gone, 15*time.Second)
	if err != nil {
		return "", fmt.Errorf("camera fault not shown: %w", err)
	}
	time.Sleep(time.Until(red.Add(time.Second)))
	if err := s.relayTouched(gone, time.Now()); err != nil {
		return "", fmt.Errorf("during the camera outage: %w", err)
	}
	back := time.Now()
	if err := s.feed.start(); err != nil {
		return "", fmt.Errorf("restarting the writer: %w", err)
	}
	d, err := s.expectAcceptWithin(c, 30*time.Second)
	if err != nil {
		return "", fmt.Errorf("after the camera came back: %w", err)
	}
	// That accept's delay includes kioskd's reopen backoff: it measures
	// resumption, not the frame-to-relay latency.
	s.latency = s.latency[:len(s.latency)-1]
	if s.cmd.Process.Pid != pid {
		return "", errors.New("kioskd was restarted")
	}
	return fmt.Sprintf("fault on red %v after unplug; accepted %v after replug (same pid); %s",
		red.Sub(gone).Round(time.Millisecond), time.Since(back).Round(time.Millisecond), d), nil
}

// sigtermReleases opens the relay with a valid code, sends SIGTERM while it
// is open, and checks the relay went inactive after the signal and no later
// than the process ended, well before the pulse would have ended by itself.
func (s *session) sigtermReleases(c string) (string, error) {
	if err := s.away(); err != nil {
		return "", err
	}
	shown, err := s.showCode(c)
	if err != nil {
		return "", err
	}
	on, err := s.waitEdge(lineRelay, s.active(lineRelay), shown, verdictWait)
	if err != nil {
		return "", fmt.Errorf("no accept: %w", err)
	}
	s.latency = append(s.latency, on.Sub(shown))
	time.Sleep(time.Until(on.Add(150 * time.Millisecond)))
	if err := s.trace.Mark("hwtest: SIGTERM"); err != nil {
		return "", err
	}
	sig := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return "", err
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		return "", errors.New("kioskd still running 10s after SIGTERM")
	}
	time.Sleep(5 * samplePeriod)
	relE, err := s.waitEdgeFull(lineRelay, 1-s.active(lineRelay), sig, 0)
	if err != nil {
		return "", fmt.Errorf("relay not released: %w", err)
	}
	rel := relE.At
	_, gap := s.watch.Stats()
	if rel.After(s.exitAt) {
		return "", fmt.Errorf("relay released %v after kioskd exited (sampled between %v and %v after SIGTERM; longest sample gap %v)",
			rel.Sub(s.exitAt), relE.Prev.Sub(sig), rel.Sub(sig), gap)
	}
	if rel.After(on.Add(pulse - pulseEarly)) {
		return "", fmt.Errorf("relay released only at the end of its pulse (between %v and %v after on; SIGTERM %v after on; longest sample gap %v)",
			relE.Prev.Sub(on), rel.Sub(on), sig.Sub(on), gap)
	}
	// The trace tells "kioskd drove the relay inactive" apart from "the line
	// was freed when the process died", which read the same in sysfs.
	driven := 0
	if _, err := s.relayTrace(func(e gpiosim.TraceEvent) error {
		if !strings.HasPrefix(e.Comm, "kioskd") {
			return nil
		}
		if e.Value == s.active(lineRelay) {
			// Once stopping, kioskd decides nothing: a frame still being
			// decoded must not open the door again.
			return errors.New("kioskd set the relay active again after SIGTERM")
		}
		driven++
		return nil
	}, "hwtest: SIGTERM", ""); err != nil {
		return "", err
	}
	if driven == 0 {
		return "", errors.New("the kernel traced no inactive level set by kioskd on the relay after SIGTERM (the line was only freed)")
	}
	code := -1
	if s.cmd.ProcessState != nil {
		code = s.cmd.ProcessState.ExitCode()
	}
	if code != 0 {
		return "", fmt.Errorf("kioskd exit status %d after SIGTERM", code)
	}
	return fmt.Sprintf("relay driven inactive by kioskd (kernel trace) %v after SIGTERM (open for %v of a %v pulse); process gone %v after SIGTERM, exit 0",
		rel.Sub(sig).Round(time.Millisecond), rel.Sub(on).Round(time.Millisecond), pulse, s.exitAt.Sub(sig).Round(time.Millisecond)), nil
}

// relayTrace calls check for every level set on the relay line traced
// between the marks from and to (to "" = the end) and returns how many
// there were.
func (s *session) relayTrace(check func(gpiosim.TraceEvent) error, from, to string) (int, error) {
	evs, err := s.trace.Events()
	if err != nil {
		return 0, err
	}
	in, n := false, 0
	for _, e := range evs {
		if e.Kind == "mark" {
			switch {
			case strings.HasSuffix(e.Text, from):
				in = true
			case to != "" && strings.HasSuffix(e.Text, to):
				in = false
			}
			continue
		}
		if !in || e.Kind != "set" || e.GPIO != s.relayNum {
			continue
		}
		n++
		if err := check(e); err != nil {
			return n, err
		}
	}
	return n, nil
}

// exitButton presses the request-to-exit button (the simulator's pull takes
// the input line low, as a button to ground does) for 200 ms: kioskd must
// debounce it and open the door exactly as an accept does, and a bounce
// shorter than the debounce must not.
func (s *session) exitButton() (string, error) {
	if err := s.away(); err != nil {
		return "", err
	}
	// A 10 ms bounce: below gpio.exit_button.debounce (50 ms). On a loaded
	// host the guest can be descheduled between the two writes, and the
	// "bounce" is then a press kioskd is right to act on (seen: a 10 ms
	// bounce "opened the door"). held bounds how long the line really was
	// low; a try that may have reached the debounce proves nothing and is
	// made again, after any pulse it caused.
	var bounce time.Time
	try := 1
	for ; ; try++ {
		bounce = time.Now()
		if err := s.chip.SetPull(lineExit, false); err != nil {
			return "", err
		}
		time.Sleep(10 * time.Millisecond)
		if err := s.chip.SetPull(lineExit, true); err != nil {
			return "", err
		}
		held := time.Since(bounce)
		time.Sleep(500 * time.Millisecond)
		if held < bounceMax {
			break
		}
		if try == 5 {
			return "", fmt.Errorf("could not make a bounce shorter than %v in 5 tries (the guest is too slow)", bounceMax)
		}
		time.Sleep(pulse + time.Second)
	}
	if err := s.relayTouched(bounce, time.Now()); err != nil {
		return "", fmt.Errorf("a 10 ms bounce opened the door: %w", err)
	}
	press := time.Now()
	if err := s.chip.SetPull(lineExit, false); err != nil {
		return "", err
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.chip.SetPull(lineExit, true); err != nil {
		return "", err
	}
	onE, err := s.waitEdgeFull(lineRelay, s.active(lineRelay), press, verdictWait)
	if err != nil {
		return "", fmt.Errorf("exit button did not open the door: %w", err)
	}
	offE, err := s.waitEdgeFull(lineRelay, 1-s.active(lineRelay), onE.At, pulse+2*time.Second)
	if err != nil {
		return "", fmt.Errorf("relay stuck after exit button: %w", err)
	}
	shortest, longest := offE.Prev.Sub(onE.At), offE.At.Sub(onE.Prev)
	if longest < pulse-pulseEarly || shortest > pulse+pulseLate {
		return "", fmt.Errorf("relay held between %v and %v after the exit button, want %v", shortest, longest, pulse)
	}
	return fmt.Sprintf("10 ms bounce ignored (try %d); 200 ms press -> relay %v later, held [%v..%v]",
		try, onE.At.Sub(press).Round(time.Millisecond), shortest.Round(time.Millisecond), longest.Round(time.Millisecond)), nil
}
