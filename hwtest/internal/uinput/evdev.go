package uinput

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// evdev request numbers (linux/input.h).
const (
	eviocGrab = 1<<30 | 4<<16 | 'E'<<8 | 0x90 // _IOW('E', 0x90, int)
)

// eviocGName is EVIOCGNAME(len) = _IOC(_IOC_READ, 'E', 0x06, len).
func eviocGName(n int) uintptr { return uintptr(2<<30 | uint32(n)<<16 | 'E'<<8 | 0x06) }

// Reader reads an evdev node the way a program on the kiosk does: it is
// the other end the harness uses to prove what the kernel delivers.
type Reader struct {
	f *os.File
}

// OpenEvdev opens an evdev node for reading. The file is non-blocking so
// reads honour a deadline.
func OpenEvdev(node string) (*Reader, error) {
	f, err := os.OpenFile(node, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", node, err)
	}
	return &Reader{f: f}, nil
}

// Close closes the node (which also ends a grab).
func (r *Reader) Close() error { return r.f.Close() }

func (r *Reader) ioctl(req, arg uintptr) error {
	sc, err := r.f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := sc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, arg)
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// Name is the device's name (EVIOCGNAME).
func (r *Reader) Name() (string, error) {
	buf := make([]byte, 256)
	if err := r.ioctl(eviocGName(len(buf)), uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return "", fmt.Errorf("EVIOCGNAME: %w", err)
	}
	for i, b := range buf {
		if b == 0 {
			return string(buf[:i]), nil
		}
	}
	return string(buf), nil
}

// Grab takes the device for this reader alone (EVIOCGRAB): no other
// reader gets its events until Close. EBUSY means another has it.
func (r *Reader) Grab() error {
	if err := r.ioctl(eviocGrab, 1); err != nil {
		return fmt.Errorf("EVIOCGRAB: %w", err)
	}
	return nil
}

// ErrNoTerminator is returned by ReadText when the deadline passed before a
// terminator key was released.
var ErrNoTerminator = errors.New("no terminator key before the deadline")

// ReadText reads key events until term is pressed and returns the text
// typed before it, decoded with the US layout and shift. Any key events
// are counted in keys (also on error), so a caller can tell "nothing
// arrived" from "something arrived but no terminator".
func (r *Reader) ReadText(ctx context.Context, term Terminator) (text string, keys int, err error) {
	var out []rune
	shift := false
	evs := make([]Event, 64)
	size := int(unsafe.Sizeof(Event{}))
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&evs[0])), len(evs)*size)
	if dl, ok := ctx.Deadline(); ok {
		r.f.SetReadDeadline(dl)
		defer r.f.SetReadDeadline(time.Time{})
	}
	for {
		n, err := r.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return string(out), keys, ErrNoTerminator
			}
			return string(out), keys, fmt.Errorf("reading events: %w", err)
		}
		for _, e := range evs[:n/size] {
			if e.Type != evKey {
				continue
			}
			keys++
			switch {
			case e.Code == keyLeftShift:
				shift = e.Value != 0
			case e.Value != 1: // releases and autorepeat
			case term != NoTerminator && e.Code == uint16(term):
				return string(out), keys, nil
			default:
				if c, ok := Rune(e.Code, shift); ok {
					out = append(out, c)
				}
			}
		}
	}
}
