//go:build linux

package cdev

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	const cfgfs = "/sys/kernel/config/gpio-sim"
	if _, err := os.Stat(cfgfs); err != nil {
		t.Skip("gpio-sim not available (needs the module and configfs): ", err)
	}
	const label = "kioskd-cdev-test"
	names := []string{"GPIO17", "GPIO27", "GPIO23"}
	dir := filepath.Join(cfgfs, "cdevtest")
	bank := filepath.Join(dir, "bank0")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, v string) { t.Helper(); must(os.WriteFile(path, []byte(v), 0o644)) }
	must(os.MkdirAll(bank, 0o755))
	write(filepath.Join(bank, "num_lines"), "4")
	write(filepath.Join(bank, "label"), label)
	for i, n := range names {
		l := filepath.Join(bank, "line"+string(rune('0'+i)))
		must(os.Mkdir(l, 0o755))
		write(filepath.Join(l, "name"), n)
	}
	write(filepath.Join(dir, "live"), "1")
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(dir, "live"), []byte("0"), 0o644)
		for i := range names {
			os.Remove(filepath.Join(bank, "line"+string(rune('0'+i))))
		}
		os.Remove(bank)
		os.Remove(dir)
	})
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.TrimSpace(string(b))
	}
	dev, chipName := read("dev_name"), read("bank0/chip_name")
	sim := func(offset int, attr string) string {
		return filepath.Join("/sys/devices/platform", dev, chipName, "sim_gpio"+string(rune('0'+offset)), attr)
	}
	value := func(offset int) string {
		b, _ := os.ReadFile(sim(offset, "value"))
		return strings.TrimSpace(string(b))
	}

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
	write(sim(0, "pull"), "pull-up")
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
	write(sim(1, "pull"), "pull-up")
	out27, err := chips.RequestOutput(ref27, "kioskd led", false)
	must(err)
	if v := value(1); v != "0" {
		t.Errorf("requested low: sysfs value %s", v)
	}
	must(out27.Close())

	// An input with edges: the button pulls the line down.
	ref23, err := chips.Find(label, "GPIO23")
	must(err)
	write(sim(2, "pull"), "pull-up")
	in, err := chips.RequestInput(ref23, PullNone)
	must(err)
	defer in.Close()
	if !in.Edges() {
		t.Error("gpio-sim line gave no edge events")
	}
	if high, _ := in.Read(); !high {
		t.Error("pulled-up input reads low")
	}
	write(sim(2, "pull"), "pull-down")
	edge, err := in.Wait(context.Background(), time.Second)
	must(err)
	if high, _ := in.Read(); !edge || high {
		t.Errorf("after pull-down: edge %v, high %v; want an edge and low", edge, high)
	}
}
