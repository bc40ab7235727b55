//go:build linux

package gpio_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kioskd/kioskd/gpio"
	_ "github.com/kioskd/kioskd/gpio/cdev" // the driver under test
	"github.com/kioskd/kioskd/gpio/internal/simchip"
)

// TestKernelCdev runs Open and Test with the cdev driver against the
// kernel's gpio-sim (the hwtest VM; skipped elsewhere). Real time: the
// durations are short and the checks tolerant, as they must be on a real
// kernel in an emulated machine. Levels are read from gpio-sim's sysfs.
func TestKernelCdev(t *testing.T) {
	if !simchip.Available() {
		t.Skip("gpio-sim not available (needs the module and configfs)")
	}
	const label = "kioskd-gpio-test"
	const relay, green, red, button = 0, 1, 2, 3
	sc, err := simchip.New("gpiotest", label, []string{"GPIO17", "GPIO27", "GPIO22", "GPIO23"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.Remove)
	level := func(off int) bool {
		t.Helper()
		v, err := sc.Value(off)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// An active-low relay board and a button to ground, both pulled up.
	sc.Pull(relay, true)
	sc.Pull(button, true)
	cfg := gpioConfig(t, `
gpio:
  driver: cdev
  chip: `+label+`
  accept_led: {line: GPIO27}
  reject_led: {line: GPIO22}
  relay: {line: GPIO17, active_low: true, pulse: 300ms}
  exit_button: {line: GPIO23, active_low: true, debounce: 20ms}
  accept_for: 200ms
  reject_for: 200ms
`)
	var mu sync.Mutex
	var events []gpio.InputEvent
	out, err := gpio.Open(t.Context(), cfg, gpio.Options{OnInput: func(ev gpio.InputEvent) { mu.Lock(); events = append(events, ev); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if !level(relay) {
		t.Fatal("active-low relay driven low (energised) at Open")
	}
	out.Show(gpio.Idle)
	time.Sleep(50 * time.Millisecond)
	if level(green) || level(red) {
		t.Error("LEDs lit at idle")
	}

	out.Show(gpio.Accept)
	time.Sleep(100 * time.Millisecond)
	if level(relay) || !level(green) {
		t.Errorf("during accept: relay pin high %v (want low), green %v", level(relay), level(green))
	}
	time.Sleep(600 * time.Millisecond)
	if !level(relay) || level(green) {
		t.Errorf("after the pulse: relay pin high %v (want high), green %v", level(relay), level(green))
	}

	out.Show(gpio.Reject)
	time.Sleep(100 * time.Millisecond)
	if !level(relay) || !level(red) {
		t.Errorf("during reject: relay pin high %v (want high), red %v", level(relay), level(red))
	}
	time.Sleep(300 * time.Millisecond)

	sc.Pull(button, false) // pressed
	time.Sleep(150 * time.Millisecond)
	if level(relay) {
		t.Error("exit button press did not open the door")
	}
	sc.Pull(button, true)
	time.Sleep(200 * time.Millisecond)

	out.Show(gpio.Accept)
	time.Sleep(50 * time.Millisecond)
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if !level(relay) {
		t.Error("relay left energised after Close")
	}
	mu.Lock()
	got := events
	mu.Unlock()
	if len(got) != 2 || !got[0].Active || got[1].Active {
		t.Errorf("events = %v, want press and release", got)
	}

	// The installer's test on the same lines, now free again.
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := gpio.Test(ctx, cfg, gpio.Options{}, &buf); err != nil {
		t.Fatalf("Test: %v\n%s", err, buf.String())
	}
	if !strings.Contains(buf.String(), "output relay        GPIO17         ON  (pin low)") || !level(relay) {
		t.Errorf("Test output:\n%s\nrelay pin high after: %v", buf.String(), level(relay))
	}

	// Errors name the key to fix.
	bad := cfg
	bad.Buzzer = &gpio.LineConfig{Name: "GPIO99"}
	if _, err := gpio.Open(t.Context(), bad, gpio.Options{}); err == nil || !strings.Contains(err.Error(), "gpio.buzzer.line") {
		t.Errorf("Open with a missing line = %v, want an error naming gpio.buzzer.line", err)
	}
	if !level(relay) {
		t.Error("relay not left inactive after the failed Open")
	}
}

func gpioConfig(t testing.TB, doc string) gpio.Config {
	t.Helper()
	var c struct {
		GPIO gpio.Config `yaml:"gpio"`
	}
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("gpio config: %v", err)
	}
	return c.GPIO
}
