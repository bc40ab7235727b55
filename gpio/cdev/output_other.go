//go:build !linux

package cdev

import "errors"

// Output is a requested output line (Linux only).
type Output struct{}

var errNotLinux = errors.New("the cdev GPIO driver needs Linux")

// RequestOutput fails: the GPIO character device is Linux's.
func (c *Chips) RequestOutput(r Ref, consumer string, high bool) (*Output, error) {
	return nil, errNotLinux
}

// Name is empty.
func (o *Output) Name() string { return "" }

// Set fails.
func (o *Output) Set(high bool) error { return errNotLinux }

// Close does nothing.
func (o *Output) Close() error { return nil }
