package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged is returned when the store file is damaged: truncated, a page
// overwritten, empty, or gone where a store existed. The kiosk must not
// decide with it; `kioskd store recover` rescues what is readable.
var ErrDamaged = errors.New("store file is damaged")

// ErrFailed is returned by every operation after bbolt panicked on the file
// while the daemon ran: the store refuses to go on (no verdict can be
// trusted to it, the door stays shut) until it is checked and reopened.
var ErrFailed = errors.New("store failed")

// guardedDB is bbolt with its panics turned into errors. bbolt trusts the
// file: a damaged page makes it panic from deep inside ("invalid page type",
// an index out of range) or read past the end of its memory map (a fault,
// fatal to the process unless debug.SetPanicOnFault is on). The Store's
// methods call View, Update and Batch as on a *bolt.DB; after the first
// panic every call fails with ErrFailed, because a panic inside a write
// transaction may leave bbolt's in-memory state (freelist, mmap) unsound.
type guardedDB struct {
	*bolt.DB
	log    *slog.Logger
	failed atomic.Pointer[error]
	// inWrite: the failure happened in a write transaction, whose panic may
	// have left bbolt's locks held; Close then leaves the file to the
	// process's exit instead of waiting on them for ever.
	inWrite atomic.Bool
}

// Close closes the file, unless a write transaction failed (see inWrite).
func (g *guardedDB) Close() error {
	if g.inWrite.Load() {
		return fmt.Errorf("not closed after the failure, released at exit: %w", g.Err())
	}
	return g.DB.Close()
}

// Err is the failure that stopped the store, or nil.
func (g *guardedDB) Err() error {
	if p := g.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// fail records the first panic as the store's failure and returns it.
func (g *guardedDB) fail(p any) error {
	err := fmt.Errorf("%w: %w: %v", ErrFailed, ErrDamaged, p)
	if g.failed.CompareAndSwap(nil, &err) {
		g.log.Error("the store file is damaged: refusing every further read and write (no verdict can open the door); stop the daemon and run kioskd store check",
			"err", err)
	}
	return g.Err()
}

// guarded runs op with faults turned into panics and panics into a failure.
func (g *guardedDB) guarded(write bool, op func() error) (err error) {
	if err := g.Err(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if write {
				g.inWrite.Store(true)
			}
			err = g.fail(p)
		}
	}()
	return op()
}

func (g *guardedDB) View(fn func(*bolt.Tx) error) error {
	return g.guarded(false, func() error { return g.DB.View(fn) })
}

func (g *guardedDB) Update(fn func(*bolt.Tx) error) error {
	return g.guarded(true, func() error { return g.DB.Update(fn) })
}

// Batch guards fn where it runs: bbolt may run a batch on its timer's
// goroutine, which has no SetPanicOnFault of its own, and would recover a
// panic of fn itself only to retry it alone.
func (g *guardedDB) Batch(fn func(*bolt.Tx) error) error {
	return g.guarded(true, func() error {
		return g.DB.Batch(func(tx *bolt.Tx) error {
			return g.guarded(true, func() error { return fn(tx) })
		})
	})
}

// catch runs fn with faults turned into panics and returns any panic as an
// error: for reading a file known to be damaged (Check, Recover).
func catch(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrDamaged, p)
		}
	}()
	return fn()
}

// openBolt is bolt.Open under catch. bbolt takes the file's lock before it
// reads the file; when it panics, it returns no DB to close, so the file
// it opened is closed here (releasing the lock for the next open).
func openBolt(path string, o *bolt.Options) (*bolt.DB, error) {
	var f *os.File
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		var err error
		f, err = os.OpenFile(name, flag, perm)
		return f, err
	}
	var db *bolt.DB
	err := catch(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, o)
		return err
	})
	if db == nil && f != nil {
		f.Close() // after a panic; after an error bbolt closed it already
	}
	return db, err
}
