//go:build linux

package cdev

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kioskd/kioskd/gpio/internal/simchip"
)

// TestKernelGPIOSim runs the driver against the kernel's gpio-sim: it needs
// root and the gpio-sim module loaded with configfs mounted (the hwtest VM,
// or a kernel with CONFIG_GPIO_SIM), and skips elsewhere. It makes its own
// simulated chip. Output levels are checked from gpio-sim's sysfs, never by
// reading the line back. It passed on Debian's 6.1.0-56 kernels (amd64 and
// arm64 with its pl061 chip beside the simulator) in a QEMU VM booting the
// static test binary with configfs, irq_sim and gpio-sim loaded (the
// modules as hwtest/run.sh builds them). periph enumerates chips once per
// process, so the chip is made before the first Open.
func TestKernelGPIOSim(t *testing.T) {
	if !simchip.Available() {
		t.Skip("gpio-sim not available (needs the module and configfs)")
	}
	const label = "kioskd-cdev-test"
	sc, err := simchip.New("cdevtest", label, []string{"GPIO17", "GPIO27", "GPIO23"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.Remove)
	chipName := sc.Name
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	value := func(offset int) string {
		high, err := sc.Value(offset)
		must(err)
		if high {
			return "1"
		}
		return "0"
	}
	pull := func(offset int, up bool) { t.Helper(); must(sc.Pull(offset, up)) }

	chips, err := Open()
	must(err)

	// Resolution and its errors.
	if _, err := chips.Find("no-such-chip", "GPIO17"); !errors.Is(err, ErrChipNotFound) {
		t.Errorf("unknown chip: %v", err)
	}
	if _, err := chips.Find(label, "GPIO99"); !errors.Is(err, ErrLineNotFound) {
		t.Errorf("unknown line: %v", err)
	}
	if _, err := chips.Find("", label+":9"); !errors.Is(err, ErrLineNotFound) {
		t.Errorf("offset out of range: %v", err)
	}
	ref, err := chips.Find(label, "GPIO17")
	must(err)
	if byOff, err := chips.Find("", chipName+":0"); err != nil || byOff.Offset != ref.Offset {
		t.Errorf("chip:offset = %v, %v; want offset %d", byOff, err, ref.Offset)
	}

	// An active-low relay at rest: the board's pull-up holds the line high;
	// the request must leave it high from the first moment.
	pull(0, true)
	out, err := chips.RequestOutput(ref, "kioskd relay", true)
	must(err)
	if v := value(0); v != "1" {
		t.Errorf("requested high: sysfs value %s", v)
	}
	if _, err := chips.RequestOutput(ref, "kioskd relay", true); !errors.Is(err, ErrBusy) {
		t.Errorf("second request: %v, want ErrBusy", err)
	}
	must(out.Set(false))
	if v := value(0); v != "0" {
		t.Errorf("after Set(false): sysfs value %s", v)
	}
	must(out.Set(true))
	if v := value(0); v != "1" {
		t.Errorf("after Set(true): sysfs value %s", v)
	}
	must(out.Close())
	if err := out.Set(false); err == nil {
		t.Error("Set after Close succeeded")
	}

	// Requested low on a line pulled up: low at once.
	ref27, err := chips.Find(label, "GPIO27")
	must(err)
	pull(1, true)
	out27, err := chips.RequestOutput(ref27, "kioskd led", false)
	must(err)
	if v := value(1); v != "0" {
		t.Errorf("requested low: sysfs value %s", v)
	}
	must(out27.Close())

	// An input with edges: the button pulls the line down.
	ref23, err := chips.Find(label, "GPIO23")
	must(err)
	pull(2, true)
	in, err := chips.RequestInput(ref23, PullNone)
	must(err)
	defer in.Close()
	if !in.Edges() {
		t.Error("gpio-sim line gave no edge events")
	}
	if high, _ := in.Read(); !high {
		t.Error("pulled-up input reads low")
	}
	pull(2, false)
	edge, err := in.Wait(context.Background(), time.Second)
	must(err)
	if high, _ := in.Read(); !edge || high {
		t.Errorf("after pull-down: edge %v, high %v; want an edge and low", edge, high)
	}
}
