package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/kioskd/kioskd/hwtest/internal/gpiosim"
)

// The kiosk's wiring on the simulated chip: offsets 0..2 carry the Raspberry
// Pi header names kioskd's config refers to.
const (
	chipLabel = "kioskd-sim"
	videoDev  = "/dev/video7" // v4l2loopback video_nr=7, see guest-init.sh
	lineRelay = 0
	lineOK    = 1
	lineNo    = 2
	lineExit  = 3 // request-to-exit button input, to ground (active low)
)

var lineNames = []string{"GPIO17", "GPIO27", "GPIO22", "GPIO5"}

// scenario is one named check; fn returns a detail line for the report.
type scenario struct {
	name string
	fn   func() (string, error)
}

// selftestFrozen freezes the guest; its own bound is short, as nothing in
// the guest can act on it anyway.
const selftestFrozen = "selftest.guest-frozen"

// run executes the scenarios and returns the VM exit status: 0 when all
// passed, 1 when one failed, 2 when the set-up itself failed.
func run(only string) int {
	want := func(name string) bool {
		if only == "" {
			return true
		}
		for _, n := range strings.Split(only, ",") {
			if n == name {
				return true
			}
		}
		return false
	}
	t0 := time.Now()
	chip, err := gpiosim.New("kioskd", chipLabel, lineNames)
	if !report("setup.gpio-sim", err, time.Since(t0), chipDetail(chip)) {
		return 2
	}
	failed := false
	scenarios := []scenario{
		{"raw.gpio-cdev", func() (string, error) { return rawGPIO(chip) }},
		{"raw.v4l2-capture", func() (string, error) { return rawCamera(videoDev) }},
		{"raw.uinput-evdev", rawUinput},
		{"raw.hid-reader", rawHIDReader},
		{hidOverflow, rawHIDOverflow},
	}
	if _, err := os.Stat(kioskdBin); err == nil {
		scenarios = append(scenarios, kioskdScenarios(chip)...)
	} else {
		fmt.Printf("HWTEST note: %s missing, kioskd scenarios not run\n", kioskdBin)
		failed = true
	}
	// Run only when named: it proves the host's deadline (run.sh) catches a
	// guest whose own timers stop.
	if only != "" {
		scenarios = append(scenarios, scenario{selftestFrozen, freezeGuest})
	}
	for _, s := range scenarios {
		if !want(s.name) {
			continue
		}
		bound := scenarioTimeout
		if s.name == selftestFrozen {
			bound = 10 * time.Second
		}
		// The host kills the VM if this scenario's report line does not
		// follow within the bound plus a margin: the backstop for a guest
		// hung below its scheduler, where the bound below never fires.
		fmt.Printf("HWTEST-START %s %d\n", s.name, int(bound.Seconds()))
		t := time.Now()
		detail, hung, err := runBounded(s.fn, bound)
		if !report(s.name, err, time.Since(t), detail) {
			failed = true
		}
		if hung {
			// Its goroutine still holds the lines, the camera or kioskd:
			// what follows would not be a test of anything.
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}

// scenarioTimeout bounds one scenario, well inside the VM's own timeout, so
// that a hang is reported as a failure with the goroutines' stacks rather
// than as a VM killed without a word. The slowest scenario takes ~20 s on
// armhf under TCG.
const scenarioTimeout = 150 * time.Second

// runBounded runs fn, giving up after d: then the error says so, the
// goroutines' stacks and the state of every kioskd process are printed, and
// hung is true.
func runBounded(fn func() (string, error), d time.Duration) (detail string, hung bool, err error) {
	type result struct {
		detail string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		d, err := fn()
		done <- result{d, err}
	}()
	select {
	case r := <-done:
		return r.detail, false, r.err
	case <-time.After(d):
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	fmt.Printf("---- hwguest goroutines after %v ----\n%s\n---- processes ----\n%s----\n", d, buf, processStates())
	return "", true, fmt.Errorf("did not finish within %v (goroutines and processes above)", d)
}

// processStates lists each process's pid, name, state and scheduling
// policy, from /proc.
func processStates() string {
	var b strings.Builder
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		pol, _ := gpiosim.Policy(pid)
		f := strings.Fields(string(stat))
		if len(f) > 2 {
			fmt.Fprintf(&b, "%d %s %s policy %d\n", pid, f[1], f[2], pol)
		}
	}
	return b.String()
}

func chipDetail(c *gpiosim.Chip) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s on %s, label %s, lines %s", c.ChipName, c.DevName, c.Label, strings.Join(c.Lines, ","))
}

// freezeGuest suspends the guest to idle (s2idle) with no wakeup source:
// every task frozen and the timers with them, as a guest wedged in its
// kernel looks from outside. Nothing in the guest reports it; run.sh's
// console deadline must.
func freezeGuest() (string, error) {
	if err := os.WriteFile("/sys/power/state", []byte("freeze"), 0); err != nil {
		return "", fmt.Errorf("suspending to idle: %w", err)
	}
	return "", errors.New("the guest woke up from suspend-to-idle")
}
