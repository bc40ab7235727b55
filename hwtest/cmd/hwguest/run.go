package main

import (
	"fmt"
	"os"
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
	}
	if _, err := os.Stat(kioskdBin); err == nil {
		scenarios = append(scenarios, kioskdScenarios(chip)...)
	} else {
		fmt.Printf("HWTEST note: %s missing, kioskd scenarios not run\n", kioskdBin)
		failed = true
	}
	for _, s := range scenarios {
		if !want(s.name) {
			continue
		}
		t := time.Now()
		detail, err := s.fn()
		if !report(s.name, err, time.Since(t), detail) {
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

func chipDetail(c *gpiosim.Chip) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s on %s, label %s, lines %s", c.ChipName, c.DevName, c.Label, strings.Join(c.Lines, ","))
}
