package cdev

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpenWithoutChips(t *testing.T) {
	if paths, _ := filepath.Glob("/dev/gpiochip*"); len(paths) > 0 {
		t.Skip("this machine has GPIO chips")
	}
	// periph enumerates the chips once per process: enumerating none here
	// would hide the chip TestKernelGPIOSim makes.
	if _, err := os.Stat("/sys/kernel/config/gpio-sim"); err == nil {
		t.Skip("gpio-sim is available: TestKernelGPIOSim needs the first enumeration")
	}
	_, err := Open()
	if !errors.Is(err, ErrNoChips) || !strings.Contains(err.Error(), "gpio.driver sim or none") {
		t.Fatalf("Open = %v, want ErrNoChips pointing at the sim and none drivers", err)
	}
}

func TestBusyErr(t *testing.T) {
	r := Ref{ChipName: "gpiochip0", Offset: 17, Name: "GPIO17", spec: "GPIO17"}
	tests := []struct {
		name string
		err  error
		busy bool
	}{
		{"errno", syscall.EBUSY, true},
		{"periph's flattened errno", errors.New("line_request ioctl: " + syscall.EBUSY.Error()), true},
		{"other", syscall.EINVAL, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := busyErr(r, tt.err)
			if errors.Is(err, ErrBusy) != tt.busy {
				t.Fatalf("busyErr(%v) = %v, busy want %v", tt.err, err, tt.busy)
			}
			if !strings.Contains(err.Error(), "GPIO17") {
				t.Errorf("error %q does not name the line", err)
			}
		})
	}
}

func TestRefString(t *testing.T) {
	tests := []struct {
		r    Ref
		want string
	}{
		{Ref{ChipName: "gpiochip0", Offset: 17, Name: "GPIO17", spec: "GPIO17"}, "GPIO17 (gpiochip0:17)"},
		{Ref{ChipName: "gpiochip0", Offset: 17, Name: "GPIO17", spec: "gpiochip0:17"}, "gpiochip0:17 (GPIO17)"},
		{Ref{ChipName: "gpiochip0", Offset: 3, spec: "pinctrl-rp1:3"}, "pinctrl-rp1:3 (gpiochip0:3)"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
