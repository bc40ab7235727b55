package systemd

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitFile = "kioskd.service"

// directives returns every "Key=Value" of the unit by section, in order.
func directives(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			out[section] = append(out[section], line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnitContract pins the settings other parts of kioskd depend on: the
// daemon's sd_notify use, its command line, its secrets' names (the ones
// configs/kioskd.yaml names) and the devices it opens.
func TestUnitContract(t *testing.T) {
	d := directives(t)
	want := map[string][]string{
		"Unit": {"StartLimitIntervalSec=60"},
		"Service": {
			"Type=notify",
			"NotifyAccess=main",
			"ExecStart=/usr/bin/kioskd run -config /etc/kioskd/kioskd.yaml",
			"ExecReload=/bin/kill -HUP $MAINPID",
			"ExecStopPost=/usr/bin/kioskd gpio release -config /etc/kioskd/kioskd.yaml",
			"WatchdogSec=30s",
			"Restart=on-failure",
			"User=kioskd",
			// input and dialout: the scanner inputs (issue 20).
			"SupplementaryGroups=video gpio input dialout",
			"StateDirectory=kioskd",
			"ConfigurationDirectory=kioskd",
			"LoadCredential=api_key:/etc/kioskd/credentials/api_key",
			"LoadCredential=client_secret:/etc/kioskd/credentials/client_secret",
			"LoadCredential=refresh_token:/etc/kioskd/credentials/refresh_token",
			"DevicePolicy=closed",
			"DeviceAllow=char-video4linux rw",
			"DeviceAllow=char-gpiochip rw",
			"DeviceAllow=char-input r",
			"DeviceAllow=char-ttyACM rw",
			"DeviceAllow=char-ttyUSB rw",
			"DeviceAllow=char-ttyAMA rw",
			"DeviceAllow=char-ttyS rw",
			"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
			"SystemCallFilter=@system-service",
		},
		"Install": {"WantedBy=multi-user.target"},
	}
	for section, lines := range want {
		for _, l := range lines {
			found := false
			for _, have := range d[section] {
				if have == l {
					found = true
				}
			}
			if !found {
				t.Errorf("[%s] lacks %q", section, l)
			}
		}
	}
	// Anything that would hide the camera or GPIO devices breaks the kiosk.
	for _, l := range d["Service"] {
		if l == "PrivateDevices=yes" || l == "PrivateDevices=true" {
			t.Errorf("%s hides /dev/video* and /dev/gpiochip*", l)
		}
	}
}

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd); .ci/run installs it")
	}
	return p
}

var exposureRE = regexp.MustCompile(`Overall exposure level for kioskd\.service: ([0-9.]+)`)

// TestExposure runs `systemd-analyze security --offline=true` on the unit and
// fails when the exposure score passes MaxExposure, or when systemd ignores a
// line of the unit (a misspelt or misplaced key is silently lost protection).
func TestExposure(t *testing.T) {
	bin := systemdAnalyze(t)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "security", "--offline=true", "--no-pager", unitFile)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A non-zero exit only means "above the default threshold": judge the score.
	_ = cmd.Run()
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Errorf("systemd-analyze complained about the unit:\n%s", s)
	}
	m := exposureRE.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no exposure score in systemd-analyze output:\n%s%s", stdout.String(), stderr.String())
	}
	score, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (max %.1f)", score, MaxExposure)
	if score > MaxExposure {
		t.Errorf("exposure %.1f > %.1f; the settings still open:\n%s", score, MaxExposure, openSettings(stdout.String()))
	}
}

// openSettings keeps the ✗ lines of the report, the ones that cost exposure.
func openSettings(report string) string {
	var b strings.Builder
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "✗") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestVerify runs `systemd-analyze verify` on a copy whose ExecStart points
// at an existing binary (verify insists the program exists), catching
// syntax and semantic errors the security report does not.
func TestVerify(t *testing.T) {
	bin := systemdAnalyze(t)
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) to stand in for /usr/bin/kioskd")
	}
	copyPath := filepath.Join(t.TempDir(), unitFile)
	unit = bytes.ReplaceAll(unit, []byte("/usr/bin/kioskd"), []byte(truePath))
	if err := os.WriteFile(copyPath, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", "--man=no", copyPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
