// Package uinput makes a virtual USB keyboard through the kernel's uinput
// driver, so that a test can type into a real evdev device node the way a
// 2D scanner module in keyboard-wedge mode does: one key press and release
// per character, shift held for upper-case letters and symbols, then a
// terminator key.
//
// The device is made with the uinput ioctls (UI_SET_EVBIT, UI_SET_KEYBIT,
// UI_DEV_SETUP, UI_DEV_CREATE) on /dev/uinput; Destroy (UI_DEV_DESTROY and
// close) unplugs it, and Create again plugs a new one in, which is how the
// hardware-in-the-loop VM tests hot-plug. The kernel then publishes an input
// device under /sys/devices/virtual/input/inputN with an evdev handler
// eventM, and devtmpfs makes /dev/input/eventM.
//
// It is test equipment for hwtest, not part of kioskd, and Linux-only.
package uinput

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel constants from linux/uinput.h and linux/input.h. golang.org/x/sys
// does not carry them. The request numbers are built the generic way
// (_IOC: dir<<30 | size<<16 | type<<8 | nr), which x86-64, arm64 and arm
// share.
const (
	evSyn    = 0x00
	evKey    = 0x01
	synRepor = 0
	busUSB   = 0x03

	uiDevCreate  = 'U'<<8 | 1                   // _IO('U', 1)
	uiDevDestroy = 'U'<<8 | 2                   // _IO('U', 2)
	uiSetEvBit   = 1<<30 | 4<<16 | 'U'<<8 | 100 // _IOW('U', 100, int)
	uiSetKeyBit  = 1<<30 | 4<<16 | 'U'<<8 | 101 // _IOW('U', 101, int)
)

// uiDevSetup is _IOW('U', 3, struct uinput_setup).
var uiDevSetup = uintptr(1<<30 | uint32(unsafe.Sizeof(setup{}))<<16 | 'U'<<8 | 3)

// uiGetSysname is UI_GET_SYSNAME(len) = _IOC(_IOC_READ, 'U', 44, len).
func uiGetSysname(n int) uintptr { return uintptr(2<<30 | uint32(n)<<16 | 'U'<<8 | 44) }

// inputID mirrors struct input_id.
type inputID struct {
	Bus, Vendor, Product, Version uint16
}

// setup mirrors struct uinput_setup: 8 + 80 + 4 = 92 bytes on every arch.
type setup struct {
	ID           inputID
	Name         [80]byte
	FFEffectsMax uint32
}

// Event mirrors struct input_event as the kernel reads and writes it on
// this architecture: two longs of time (the kernel fills them in on read,
// ignores them on write), then type, code and value. It is 24 bytes on
// 64-bit and 16 on 32-bit.
type Event struct {
	Sec, Usec uintptr
	Type      uint16
	Code      uint16
	Value     int32
}

// Options name the virtual device as a USB scanner would name itself.
type Options struct {
	Name            string // up to 79 bytes, e.g. "hwtest 2D Scanner"
	Vendor, Product uint16
}

// Keyboard is a live virtual keyboard. It is not safe for concurrent use.
type Keyboard struct {
	f       *os.File
	sysname string // "inputN"
}

// Create plugs in a new virtual keyboard through dev (normally
// "/dev/uinput") able to send every key Type uses.
func Create(dev string, o Options) (*Keyboard, error) {
	if len(o.Name) >= 80 {
		return nil, fmt.Errorf("uinput: device name %q longer than 79 bytes", o.Name)
	}
	f, err := os.OpenFile(dev, os.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dev, err)
	}
	k := &Keyboard{f: f}
	fail := func(what string, err error) (*Keyboard, error) {
		f.Close()
		return nil, fmt.Errorf("uinput %s: %w", what, err)
	}
	if err := k.ioctl(uiSetEvBit, evKey); err != nil {
		return fail("UI_SET_EVBIT EV_KEY", err)
	}
	for _, c := range keyCodes() {
		if err := k.ioctl(uiSetKeyBit, uintptr(c)); err != nil {
			return fail(fmt.Sprintf("UI_SET_KEYBIT %d", c), err)
		}
	}
	s := setup{ID: inputID{Bus: busUSB, Vendor: o.Vendor, Product: o.Product, Version: 1}}
	copy(s.Name[:], o.Name)
	if err := k.ioctl(uiDevSetup, uintptr(unsafe.Pointer(&s))); err != nil {
		return fail("UI_DEV_SETUP", err)
	}
	if err := k.ioctl(uiDevCreate, 0); err != nil {
		return fail("UI_DEV_CREATE", err)
	}
	buf := make([]byte, 64)
	if err := k.ioctl(uiGetSysname(len(buf)), uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		k.Destroy()
		return nil, fmt.Errorf("uinput UI_GET_SYSNAME: %w", err)
	}
	k.sysname = string(buf[:max(0, strings.IndexByte(string(buf), 0))])
	return k, nil
}

func (k *Keyboard) ioctl(req, arg uintptr) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, k.f.Fd(), req, arg); e != 0 {
		return e
	}
	return nil
}

// Sysname is the kernel's name of the input device, "inputN".
func (k *Keyboard) Sysname() string { return k.sysname }

// EventNode waits until the device's evdev node exists (the evdev handler
// binds while the device registers; devtmpfs makes the node a moment
// later) and returns its path, "/dev/input/eventM".
func (k *Keyboard) EventNode(ctx context.Context) (string, error) {
	dir := filepath.Join("/sys/devices/virtual/input", k.sysname)
	for {
		ents, err := os.ReadDir(dir)
		if err == nil {
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), "event") {
					node := filepath.Join("/dev/input", e.Name())
					if _, err := os.Stat(node); err == nil {
						return node, nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for the evdev node of %s: %w (last error: %v)", dir, ctx.Err(), err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Terminator is the key a scanner sends after a code.
type Terminator uint16

// The terminators scanners are set up with (linux/input-event-codes.h).
const (
	NoTerminator Terminator = 0
	Enter        Terminator = keyEnter
	Tab          Terminator = keyTab
)

// Type sends text as key strokes followed by term, waiting gap between
// characters (0: as fast as the kernel takes them, as a scanner does). It
// fails before sending anything if text has a character a US keyboard
// cannot type.
func (k *Keyboard) Type(ctx context.Context, text string, term Terminator, gap time.Duration) error {
	strokes, err := Strokes(text)
	if err != nil {
		return err
	}
	if term != NoTerminator {
		strokes = append(strokes, Stroke{Code: uint16(term)})
	}
	for i, s := range strokes {
		if i > 0 && gap > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(gap):
			}
		}
		if err := k.write(s.events()); err != nil {
			return fmt.Errorf("typing character %d of %d: %w", i+1, len(strokes), err)
		}
	}
	return nil
}

// write sends events in one write(2): the kernel takes whole input_event
// structs, any number at a time.
func (k *Keyboard) write(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&evs[0])), len(evs)*int(unsafe.Sizeof(Event{})))
	n, err := k.f.Write(b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("short write to uinput: %d of %d bytes", n, len(b))
	}
	return nil
}

// Destroy unplugs the device (UI_DEV_DESTROY) and closes /dev/uinput. The
// kernel removes the input device and its evdev node; readers holding the
// node open get ENODEV.
func (k *Keyboard) Destroy() error {
	if k.f == nil {
		return errors.New("uinput: device already destroyed")
	}
	err := k.ioctl(uiDevDestroy, 0)
	if cerr := k.f.Close(); err == nil {
		err = cerr
	}
	k.f = nil
	if err != nil {
		return fmt.Errorf("uinput UI_DEV_DESTROY %s: %w", k.sysname, err)
	}
	return nil
}
