package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kioskd/kioskd/hwtest/internal/uinput"
	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/input/hid"
	kscanner "github.com/kioskd/kioskd/scanner"
)

// rawHIDReader runs kioskd's own scanner reader (package input/hid) in the
// guest against the virtual scanner, with the kernel's uinput and evdev in
// between: a code typed arrives as one Scan; a half-typed code is dropped
// after the key timeout and does not spoil the next read; unplugged, the
// reader reports the device down; plugged back, it reports it up, grabs it
// again and reads the next code. This proves the package on the real
// kernel path, apart from the daemon's wiring (the scanner.* scenarios).
func rawHIDReader() (string, error) {
	var sc scanner
	if err := sc.plug(); err != nil {
		return "", err
	}
	defer sc.unplug()
	states := make(chan kscanner.State, 16)
	scans := make(chan input.Read, 16)
	r, err := hid.New(hid.Options{Device: scannerLink, Terminator: hid.Enter, KeyTimeout: keyTimeout,
		RetryMin: 100 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		OnState: func(s kscanner.State) { states <- s }})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Read(ctx, func(s input.Read) { scans <- s }) }()
	defer func() {
		cancel()
		<-done
	}()
	wait := func(what string, up bool) error {
		for {
			select {
			case s := <-states:
				if s.Up == up {
					return nil
				}
			case <-time.After(15 * time.Second):
				return fmt.Errorf("the reader did not report the scanner %s within 15s", what)
			}
		}
	}
	read := func(text string) (time.Duration, error) {
		if _, err := sc.scan(text); err != nil {
			return 0, err
		}
		sent := time.Now()
		select {
		case s := <-scans:
			if s.Text != text {
				return 0, fmt.Errorf("the reader got %d characters that differ from the %d typed", len(s.Text), len(text))
			}
			return time.Since(sent), nil
		case <-time.After(10 * time.Second):
			return 0, errors.New("no read within 10s of the terminator")
		}
	}
	if err := wait("up", true); err != nil {
		return "", err
	}
	if err := grabbedByOther(); err != nil {
		return "", err
	}
	lat, err := read(code("hid reader"))
	if err != nil {
		return "", err
	}
	// Half a code, then silence past the key timeout: dropped, and the
	// next code reads whole.
	ctx2, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	err = sc.kb.Type(ctx2, code("half")[:20], uinput.NoTerminator, keyGap)
	cancel2()
	if err != nil {
		return "", err
	}
	time.Sleep(keyTimeout + 500*time.Millisecond)
	if _, err := read("https://kiosk.example/v?c=" + code("after half") + "&T=Ab_1!"); err != nil {
		return "", fmt.Errorf("after a half-typed code: %w", err)
	}
	if err := sc.unplug(); err != nil {
		return "", err
	}
	if err := wait("down", false); err != nil {
		return "", err
	}
	if err := sc.plug(); err != nil {
		return "", err
	}
	if err := wait("up again", true); err != nil {
		return "", err
	}
	if err := grabbedByOther(); err != nil {
		return "", fmt.Errorf("after replug: %w", err)
	}
	if _, err := read(code("hid reader replugged")); err != nil {
		return "", fmt.Errorf("after replug: %w", err)
	}
	select {
	case s := <-scans:
		return "", fmt.Errorf("an extra read of %d characters", len(s.Text))
	default:
	}
	return fmt.Sprintf("%s: read whole (Enter -> Scan %v), held by EVIOCGRAB, a half-typed code dropped after %v, down on unplug, up and grabbed again on replug, read again",
		r.Describe(), lat.Round(time.Millisecond), keyTimeout), nil
}

// grabbedByOther checks that someone else holds the scanner's grab: our own
// EVIOCGRAB fails with EBUSY.
func grabbedByOther() error {
	rd, err := uinput.OpenEvdev(scannerLink)
	if err != nil {
		return err
	}
	defer rd.Close()
	if err := rd.Grab(); err == nil {
		return errors.New("the scanner is not grabbed: its keys would reach a console")
	} else if !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("our grab: %v, want EBUSY", err)
	}
	return nil
}

// hidOverflow types codes at full speed, one write(2) per code, so the reader falls
// behind and evdev's 64-event client buffer overflows (the kernel empties
// it and queues SYN_DROPPED). A lost read is acceptable (the person scans
// again); a wrong one is not: it would show the guest a red light for a
// valid code. It failed against input/hid before the reader dropped the
// read in progress on SYN_DROPPED (it handed on what survived as a whole
// read: 1, 16 or 32 characters of a 64-character code).
const hidOverflow = "raw.hid-overflow"

func rawHIDOverflow() (string, error) {
	var sc scanner
	if err := sc.plug(); err != nil {
		return "", err
	}
	defer sc.unplug()
	states := make(chan kscanner.State, 16)
	scans := make(chan input.Read, 16)
	r, err := hid.New(hid.Options{Device: scannerLink, Terminator: hid.Enter, KeyTimeout: keyTimeout,
		OnState: func(s kscanner.State) { states <- s }})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Read(ctx, func(s input.Read) { scans <- s }) }()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-states:
	case <-time.After(15 * time.Second):
		return "", errors.New("the reader did not open the scanner within 15s")
	}
	const tries = 5
	whole, lost := 0, 0
	for i := range tries {
		want := code(fmt.Sprint("overflow ", i))
		tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
		err := sc.kb.Type(tctx, want, uinput.Enter, 0)
		tcancel()
		if err != nil {
			return "", err
		}
		select {
		case s := <-scans:
			if s.Text != want {
				return "", fmt.Errorf("try %d: a %d-character read that is not the %d-character code typed (evdev overflowed; the reader must drop the read on SYN_DROPPED)", i+1, len(s.Text), len(want))
			}
			whole++
		case <-time.After(3 * time.Second):
			lost++
		}
		time.Sleep(keyTimeout + 200*time.Millisecond)
	}
	return fmt.Sprintf("%d codes typed at full speed: %d read whole, %d lost, none wrong", tries, whole, lost), nil
}
