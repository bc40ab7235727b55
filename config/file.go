package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxConfigBytes bounds the configuration file: the documented example is
// a few KiB, so a file past this is a wrong path (a log, a disk image), not
// a configuration.
const MaxConfigBytes = 1 << 20

// MaxPEMBytes bounds a CA bundle named in the configuration (fleet.ca_file):
// Debian's whole system bundle is about 200 KiB.
const MaxPEMBytes = 4 << 20

// ErrNotRegular: a file setting names a device, a FIFO, a socket or a
// folder. /dev/zero would be read until memory ran out and a FIFO without a
// writer would block start-up for ever.
var ErrNotRegular = errors.New("not a regular file")

// ErrFileTooLarge: the file is larger than its setting allows.
var ErrFileTooLarge = errors.New("file too large")

// ReadFile reads a regular file of at most max bytes. The file is opened
// non-blocking and checked on the open descriptor, so it cannot be swapped
// for a FIFO between the check and the read. Errors carry the system's
// reason only, not the path: callers say which setting named the file.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", ErrNotRegular, fileKind(st.Mode()))
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrFileTooLarge, st.Size(), max)
	}
	// The size can change under us (a file still being written): the read
	// is bounded whatever Stat said.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, unwrapPath(err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: over %d bytes", ErrFileTooLarge, max)
	}
	return b, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
