//go:build !linux

package hid

import (
	"errors"
	"io"
)

var errNotLinux = errors.New("hid: evdev needs Linux")

// OpenDevice needs Linux's evdev.
func OpenDevice(string) (io.ReadCloser, error) { return nil, errNotLinux }

// DeviceName needs Linux's evdev.
func DeviceName(string) (string, error) { return "", errNotLinux }
