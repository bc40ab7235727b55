//go:build linux

package cdev

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// The v2 GPIO character-device uAPI (include/uapi/linux/gpio.h), only what an
// output request with an initial value needs.
const (
	maxNameSize      = 32
	linesMax         = 64
	lineNumAttrsMax  = 10
	lineFlagOutput   = 1 << 3
	attrOutputValues = 2
)

type lineAttribute struct {
	id      uint32
	padding uint32
	value   uint64 // for attrOutputValues: a bitmap over the request's lines
}

type lineConfigAttribute struct {
	attr lineAttribute
	mask uint64
}

type lineConfig struct {
	flags    uint64
	numAttrs uint32
	padding  [5]uint32
	attrs    [lineNumAttrsMax]lineConfigAttribute
}

type lineRequest struct {
	offsets         [linesMax]uint32
	consumer        [maxNameSize]byte
	config          lineConfig
	numLines        uint32
	eventBufferSize uint32
	padding         [5]uint32
	fd              int32
}

type lineValues struct {
	bits uint64
	mask uint64
}

// Explicit padding in the kernel structs makes these sizes the same on
// 32- and 64-bit ARM; a mismatch would make every ioctl fail with ENOTTY.
var (
	_ [592 - unsafe.Sizeof(lineRequest{})]struct{}
	_ [unsafe.Sizeof(lineRequest{}) - 592]struct{}
)

func iowr(nr, size uintptr) uintptr { return 3<<30 | size<<16 | 0xB4<<8 | nr }

var (
	getLineIoctl   = iowr(0x07, unsafe.Sizeof(lineRequest{}))
	setValuesIoctl = iowr(0x0F, unsafe.Sizeof(lineValues{}))
)

// Output is a requested output line. It is never read back.
type Output struct {
	ref  Ref
	mu   sync.Mutex
	fd   int // -1 once closed
	name string
}

// RequestOutput requests the line as an output already driven at the
// physical level high (one ioctl: the kernel sets direction and value
// together). consumer is what gpioinfo shows as the line's user.
func (c *Chips) RequestOutput(r Ref, consumer string, high bool) (*Output, error) {
	chip, err := os.OpenFile(r.ChipPath, os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", r.ChipPath, err)
	}
	defer chip.Close() // the line's fd outlives the chip's

	var req lineRequest
	req.offsets[0] = uint32(r.Offset)
	req.numLines = 1
	copy(req.consumer[:maxNameSize-1], consumer)
	req.config.flags = lineFlagOutput
	req.config.numAttrs = 1
	req.config.attrs[0].mask = 1 // line 0 of this request
	req.config.attrs[0].attr.id = attrOutputValues
	if high {
		req.config.attrs[0].attr.value = 1
	}
	if err := ioctl(chip.Fd(), getLineIoctl, unsafe.Pointer(&req)); err != nil {
		return nil, busyErr(r, err)
	}
	name := r.spec
	if name == "" {
		name = r.String()
	}
	return &Output{ref: r, fd: int(req.fd), name: name}, nil
}

// Name is the line as configured.
func (o *Output) Name() string { return o.name }

// Set drives the line to a physical level.
func (o *Output) Set(high bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fd < 0 {
		return fmt.Errorf("setting %s: line released", o.ref)
	}
	v := lineValues{mask: 1}
	if high {
		v.bits = 1
	}
	if err := ioctl(uintptr(o.fd), setValuesIoctl, unsafe.Pointer(&v)); err != nil {
		return fmt.Errorf("setting %s: %w", o.ref, err)
	}
	return nil
}

// Close releases the line. What the pin does afterwards is up to the chip's
// kernel driver (back to an input, or its last level kept): drive the safe
// level before closing.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fd < 0 {
		return nil
	}
	err := syscall.Close(o.fd)
	o.fd = -1
	if err != nil {
		return fmt.Errorf("releasing %s: %w", o.ref, err)
	}
	return nil
}

func ioctl(fd, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}
