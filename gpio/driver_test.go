package gpio

import (
	"context"
	"strings"
	"testing"
	"time"
)

// probeDriver is a driver registered by this test alone: Open finds it by
// name, as it finds cdev and sim, with no switch to edit.
type probeDriver struct{ outs *[]string }

type probeOut struct{ name string }

func (p probeOut) Set(bool) error { return nil }
func (p probeOut) Name() string   { return p.name }
func (p probeOut) Close() error   { return nil }

func (d probeDriver) Output(key string, l LineConfig, label string, high bool) (PhysOut, error) {
	*d.outs = append(*d.outs, key+"="+l.Name)
	return probeOut{l.Name}, nil
}

func (d probeDriver) Input(key string, in InputConfig, pull Pull) (PhysIn, error) {
	return nil, context.Canceled
}

var probeOuts []string

func init() {
	RegisterDriver("probe", func(o DriverOptions) (Driver, error) {
		if o.Chip != "chipX" || o.Logger == nil {
			return nil, context.DeadlineExceeded
		}
		return probeDriver{&probeOuts}, nil
	})
}

func TestDriverRegistry(t *testing.T) {
	probeOuts = nil
	out, err := Open(t.Context(), Config{Driver: "probe", Chip: "chipX", Relay: &RelayConfig{LineConfig: LineConfig{Name: "GPIO17"}, Pulse: time.Second},
		AcceptLED: &LineConfig{Name: "GPIO27"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	// The relay is requested first.
	if got := strings.Join(probeOuts, ","); got != "gpio.relay=GPIO17,gpio.accept_led=GPIO27" {
		t.Errorf("requested %s", got)
	}
	_, err = Open(t.Context(), Config{Driver: "sysfs"}, Options{})
	// (cdev is registered too: the kernel test links it into this binary.)
	if err == nil || !strings.Contains(err.Error(), `unknown gpio.driver "sysfs" (this kioskd has: `) || !strings.Contains(err.Error(), "none, probe, sim)") {
		t.Errorf("unknown driver: %v", err)
	}
	if err := CheckDriver("none"); err != nil {
		t.Errorf("CheckDriver(none) = %v", err)
	}
}
