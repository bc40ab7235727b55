//go:build linux

package hid

import (
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// evdev ioctls (include/uapi/linux/input.h), encoded with the generic
// _IOW/_IOR layout that amd64, arm64 and arm share.
const (
	eviocgrab     = 0x40044590 // _IOW('E', 0x90, int)
	eviocsclockid = 0x400445a0 // _IOW('E', 0xa0, int)
	eviocgname64  = 0x80404506 // _IOC(_IOC_READ, 'E', 0x06, 64)
)

// OpenDevice opens an evdev node for reading and grabs it (EVIOCGRAB), so
// the scanner's keystrokes reach kioskd only, never a console or the kiosk
// browser; the grab ends when the file is closed. Event times are switched
// to the monotonic clock, so the key timeout does not jump with the wall
// clock.
func OpenDevice(path string) (io.ReadCloser, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	var ioErr error
	cerr := control(f, func(fd int) {
		if err := unix.IoctlSetPointerInt(fd, eviocgrab, 1); err != nil {
			ioErr = fmt.Errorf("hid: taking %s for kioskd alone (EVIOCGRAB): %w (is it an input device, and not grabbed by another program?)", path, err)
			return
		}
		// Best effort: an old kernel keeps the wall clock.
		_ = unix.IoctlSetPointerInt(fd, eviocsclockid, unix.CLOCK_MONOTONIC)
	})
	if cerr == nil {
		cerr = ioErr
	}
	if cerr != nil {
		f.Close()
		return nil, cerr
	}
	return f, nil
}

// DeviceName is the name the device gives itself (EVIOCGNAME), for
// `kioskd input test`.
func DeviceName(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var buf [64]byte
	var n int
	var ioErr error
	cerr := control(f, func(fd int) {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), eviocgname64, uintptr(unsafe.Pointer(&buf[0])))
		if errno != 0 {
			ioErr = errno
			return
		}
		n = int(r)
	})
	if cerr == nil {
		cerr = ioErr
	}
	if cerr != nil {
		return "", fmt.Errorf("hid: reading the name of %s: %w", path, cerr)
	}
	for n > 0 && buf[n-1] == 0 {
		n--
	}
	return string(buf[:n]), nil
}

func control(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}
