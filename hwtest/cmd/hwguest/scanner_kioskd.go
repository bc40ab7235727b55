package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kioskd/kioskd/hwtest/internal/gpiosim"
	"github.com/kioskd/kioskd/hwtest/internal/uinput"
	"github.com/kioskd/kioskd/status"
	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// inputsConfig is the inputs: section that adds the virtual USB scanner
// beside the camera (or alone: cameraSource) as a hid input, by its by-id
// path as an installer would configure it. It shares camera.rearm. Empty
// for sessions without a scanner.
func (s *session) inputsConfig() string {
	if s.scan == nil {
		return ""
	}
	return fmt.Sprintf(`inputs:
  - kind: hid
    name: door-scanner
    device: %s
    terminator: enter
    key_timeout: %s
`, scannerLink, keyTimeout)
}

// cameraSource is camera.source: none for a door with the scanner only.
func (s *session) cameraSource() string {
	if s.scanOnly {
		return "none"
	}
	return videoDev
}

// present puts a code in front of kioskd: typed on the scanner when the
// session has one, shown to the camera otherwise.
func (s *session) present(text string) (time.Time, error) {
	if s.scan != nil {
		return s.scan.scan(text)
	}
	return s.showCode(text)
}

// kioskdHolds reports whether kioskd (pid) has the scanner's current
// evdev node open, from /proc/pid/fd: a look that does not disturb it.
func kioskdHolds(pid int, node string) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if t, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && t == node {
			return true
		}
	}
	return false
}

// waitGrabbed waits until kioskd has the scanner open and grabbed: its fd
// table holds the node, and a grab of our own then fails with EBUSY
// (kioskd takes the grab right after opening, so a grab of ours that still
// succeeds is let go and tried again a moment later).
func (s *session) waitGrabbed(within time.Duration) (time.Duration, error) {
	t0 := time.Now()
	deadline := t0.Add(within)
	pid := s.cmd.Process.Pid
	for !kioskdHolds(pid, s.scan.node) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("kioskd did not open %s (%s) within %v", scannerLink, s.scan.node, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var last error
	for time.Now().Before(deadline) {
		r, err := uinput.OpenEvdev(scannerLink)
		if err != nil {
			return 0, err
		}
		last = r.Grab()
		r.Close()
		if errors.Is(last, unix.EBUSY) {
			return time.Since(t0), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, fmt.Errorf("kioskd holds %s open but does not grab it (our EVIOCGRAB: %v): its keys would reach a console", s.scan.node, last)
}

// scannerScenarios run a third kioskd with a USB keyboard-wedge scanner (a
// uinput device, read by kioskd through the kernel's evdev) next to its
// camera: a typed code opens the door, a used one is refused, and the
// scanner unplugged shows the fault and is read again once plugged back,
// by the same process. s and the helpers are kioskdScenarios'.
func scannerScenarios(chip *gpiosim.Chip, sp **session, collect func(), fail func(error) (string, error)) []scenario {
	codeE, codeF, codeG := code("E scanned"), code("F scanned"), code("G scanned")
	sc := &scanner{}
	var scanLat []time.Duration // terminator about to be sent -> relay active
	need := func() (*session, error) {
		s := *sp
		if s == nil || s.scan == nil || s.cmd == nil {
			return nil, errors.New("kioskd with a scanner is not running (an earlier scenario failed)")
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("kioskd exited: %v", s.exitErr)
		default:
		}
		return s, nil
	}
	// accept expects an accept for c typed on the scanner, and that no
	// other reader of the device saw a key of it (kioskd's grab).
	accept := func(s *session, c string, wait time.Duration) (string, error) {
		spy, err := uinput.OpenEvdev(scannerLink)
		if err != nil {
			return "", err
		}
		defer spy.Close()
		d, err := s.expectAcceptWithin(c, wait)
		if err != nil {
			return "", err
		}
		d = strings.Replace(d, "frame->relay", "Enter->relay", 1)
		// expectAccept recorded Enter -> relay; keep it apart from the
		// camera's frame -> relay.
		scanLat = append(scanLat, s.latency[len(s.latency)-1])
		s.latency = s.latency[:len(s.latency)-1]
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if _, keys, err := spy.ReadText(ctx, uinput.Enter); keys != 0 || !errors.Is(err, uinput.ErrNoTerminator) {
			return "", fmt.Errorf("another reader of the scanner saw %d key events of the code (%v): kioskd's grab does not hold", keys, err)
		}
		return d, nil
	}
	return []scenario{
		{"scanner.0-input-test", func() (string, error) {
			if s := *sp; s != nil {
				collect()
				s.stop()
			}
			if err := sc.plug(); err != nil {
				return "", fmt.Errorf("plugging in the scanner: %w", err)
			}
			return inputTest(chip, sc)
		}},
		{"scanner.1-typed-code-opens", func() (string, error) {
			if s := *sp; s != nil {
				collect()
				s.stop()
			}
			if sc.kb == nil {
				if err := sc.plug(); err != nil {
					return "", fmt.Errorf("plugging in the scanner: %w", err)
				}
			}
			s := &session{chip: chip, scan: sc}
			*sp = s
			if err := s.start([]string{codeE, codeF}); err != nil {
				return fail(err)
			}
			took, err := s.waitGrabbed(10 * time.Second)
			if err != nil {
				return fail(err)
			}
			d, err := accept(s, codeE, verdictWait)
			if err != nil {
				return fail(err)
			}
			return fmt.Sprintf("%s grabbed by kioskd (%v after ready); typed code -> %s; no other reader saw a key", scannerLink, took.Round(time.Millisecond), d), nil
		}},
		{"scanner.2-used-code-rejected", func() (string, error) {
			s, err := need()
			if err != nil {
				return "", err
			}
			// Past same-code suppression: a new presentation of the code.
			time.Sleep(rearm + 700*time.Millisecond)
			d, err := s.expectReject(codeE)
			if err != nil {
				return fail(err)
			}
			return "typed again: " + strings.Replace(d, "frame->red", "Enter->red", 1), nil
		}},
		{"scanner.3-unplugged-and-back", func() (string, error) {
			s, err := need()
			if err != nil {
				return "", err
			}
			pid := s.cmd.Process.Pid
			time.Sleep(rearm)
			gone := time.Now()
			if err := sc.unplug(); err != nil {
				return "", fmt.Errorf("unplugging: %w", err)
			}
			red, err := s.waitEdge(lineNo, 1, gone, 15*time.Second)
			if err != nil {
				return fail(fmt.Errorf("scanner fault not shown: %w", err))
			}
			time.Sleep(time.Until(red.Add(time.Second)))
			if err := s.relayTouched(gone, time.Now()); err != nil {
				return fail(fmt.Errorf("while the scanner was away: %w", err))
			}
			if _, err := need(); err != nil {
				return fail(err)
			}
			// While the scanner is away another keyboard is plugged in and
			// takes its event number, as happens on a kiosk: the scanner
			// comes back under a new eventN, and only the by-id path
			// follows it. kioskd must neither read nor grab the other one.
			other, err := uinput.Create("/dev/uinput", uinput.Options{Name: "hwtest USB Keyboard", Vendor: 0x046d, Product: 0xc31c})
			if err != nil {
				return "", fmt.Errorf("plugging in another keyboard: %w", err)
			}
			defer other.Destroy()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			otherNode, err := other.EventNode(ctx)
			cancel()
			if err != nil {
				return "", err
			}
			if err := sc.plug(); err != nil {
				return "", fmt.Errorf("plugging in again: %w", err)
			}
			took, err := s.waitGrabbed(30 * time.Second) // from replug
			if err != nil {
				return fail(fmt.Errorf("after replug: %w", err))
			}
			d, err := accept(s, codeF, verdictWait)
			if err != nil {
				return fail(fmt.Errorf("after replug: %w", err))
			}
			if s.cmd.Process.Pid != pid {
				return "", errors.New("kioskd was restarted")
			}
			if kioskdHolds(pid, otherNode) {
				return "", fmt.Errorf("kioskd opened the other keyboard %s", otherNode)
			}
			or, err := uinput.OpenEvdev(otherNode)
			if err != nil {
				return "", err
			}
			err = or.Grab()
			or.Close()
			if err != nil {
				return "", fmt.Errorf("the other keyboard is held by someone (our grab: %v)", err)
			}
			return fmt.Sprintf("fault on red %v after unplug, relay untouched; another keyboard took %s, the scanner came back as %s, grabbed again %v later (same pid), the other left alone; %s",
				red.Sub(gone).Round(time.Millisecond), otherNode, sc.node, took.Round(time.Millisecond), d), nil
		}},
		{"scanner.4-scanner-only-door", func() (string, error) {
			// A door with a scanner and no camera: it starts without a
			// camera fault (the LEDs go dark once ready) and opens for a
			// code typed.
			if s := *sp; s != nil {
				collect()
				s.stop()
			}
			if sc.kb == nil {
				if err := sc.plug(); err != nil {
					return "", fmt.Errorf("plugging in the scanner: %w", err)
				}
			}
			s := &session{chip: chip, scan: sc, scanOnly: true}
			*sp = s
			if err := s.start([]string{codeG}); err != nil {
				return fail(err)
			}
			if _, err := s.waitGrabbed(10 * time.Second); err != nil {
				return fail(err)
			}
			// The standing fault blinks red 0.5 s on, 1.5 s off. Start-up
			// shows it until the first sync has filled the cache; a fault
			// about the missing camera would go on for ever. So: red
			// must go dark for longer than a whole blink cycle.
			const calm = 2500 * time.Millisecond
			ready := time.Now()
			for s.quietSince(lineNo) < calm || s.watch.Level(lineNo) != 0 {
				if time.Since(ready) > 20*time.Second {
					return fail(fmt.Errorf("the red LED still blinks 20s after ready on a door without a camera (a standing fault)"))
				}
				time.Sleep(50 * time.Millisecond)
			}
			d, err := accept(s, codeG, verdictWait)
			if err != nil {
				return fail(err)
			}
			return fmt.Sprintf("no camera, no standing fault (red dark for %v, %v after ready); %s", calm, time.Since(ready).Round(time.Millisecond), d), nil
		}},
		{"latency.scan-to-relay", func() (string, error) {
			if s := *sp; s != nil {
				collect()
				s.stop()
			}
			sc.unplug()
			if len(scanLat) == 0 {
				return "", errors.New("no scanner accept was measured")
			}
			slices.Sort(scanLat)
			return fmt.Sprintf("n=%d min %v max %v (Enter about to be written to the uinput keyboard -> relay line seen changed; %v between keys; TCG emulation, not a Pi)",
				len(scanLat), scanLat[0].Round(time.Millisecond), scanLat[len(scanLat)-1].Round(time.Millisecond), keyGap), nil
		}},
	}
}

// inputTest runs the installer's tool, `kioskd input test`, on the
// scanner session's configuration with the virtual scanner plugged in and
// no daemon running: it must say the scanner is up, then describe each read
// (a code by its hash prefix and length, never its text; other text
// quoted, so a wrong layout shows) and stop after -count reads, exit 0.
func inputTest(chip *gpiosim.Chip, sc *scanner) (string, error) {
	s := &session{chip: chip, scan: sc, dir: fmt.Sprintf("/tmp/kioskd-input-test-%d", time.Now().UnixNano())}
	s.srv = bbtest.NewServer(bbtest.Options{ClientID: "hwtest-kiosk"})
	defer s.srv.Close()
	if err := os.MkdirAll(filepath.Join(s.dir, "state"), 0o700); err != nil {
		return "", err
	}
	cfg := filepath.Join(s.dir, "kioskd.yaml")
	if err := os.WriteFile(cfg, []byte(s.config()), 0o600); err != nil {
		return "", err
	}
	cmd := exec.Command(kioskdBin, "input", "test", "-config", cfg, "-count", "2", "-for", "60s")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting kioskd input test: %w", err)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		b := bufio.NewScanner(out)
		for b.Scan() {
			lines <- b.Text()
		}
	}()
	var seen []string
	waitLine := func(has ...string) error {
		deadline := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return fmt.Errorf("kioskd input test ended without a line with %q; it printed:\n%s\n%s", has, strings.Join(seen, "\n"), stderr.String())
				}
				seen = append(seen, l)
				all := true
				for _, h := range has {
					all = all && strings.Contains(l, h)
				}
				if all {
					return nil
				}
			case <-deadline:
				return fmt.Errorf("no line with %q within 30s; it printed:\n%s", has, strings.Join(seen, "\n"))
			}
		}
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	if err := waitLine("door-scanner", "up", scannerLink); err != nil {
		return "", err
	}
	c := code("input test")
	const other = "Hello, World!"
	hash := store.HashCode(c)[:status.HashPrefixLen]
	if _, err := sc.scan(c); err != nil {
		return "", err
	}
	if err := waitLine("door-scanner", "read", "64 characters", "kiosk code", hash); err != nil {
		return "", err
	}
	if _, err := sc.scan(other); err != nil {
		return "", err
	}
	if err := waitLine("door-scanner", "read", fmt.Sprintf("%d characters", len(other)), strconv.Quote(other)); err != nil {
		return "", err
	}
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("kioskd input test after 2 reads: %v; %s", err, stderr.String())
	}
	for _, l := range seen {
		if strings.Contains(l, c) {
			return "", errors.New("kioskd input test printed the code itself")
		}
	}
	return fmt.Sprintf("up, then the code as %q and the text quoted with its shifted characters; exit 0 after -count 2", hash), nil
}
