package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kioskd/kioskd/hwtest/internal/uinput"
)

// The virtual 2D scanner module: a USB keyboard-wedge device made through
// uinput. The guest has no udev, so the harness makes the /dev/input/by-id
// link udev would (usb-<vendor>_<model>-event-kbd), and removes it when the
// device is unplugged, as udev does: kioskd is configured with that stable
// path, never with an eventN number.
const (
	scannerName = "hwtest 2D Scanner"
	scannerLink = "/dev/input/by-id/usb-hwtest_2D_Scanner-event-kbd"
)

// scanner is the plugged-in virtual scanner, or nil fields when unplugged.
type scanner struct {
	kb   *uinput.Keyboard
	node string // /dev/input/eventM
}

// plug makes the device and its by-id link, once the evdev node exists.
func (sc *scanner) plug() error {
	if sc.kb != nil {
		return errors.New("scanner already plugged in")
	}
	kb, err := uinput.Create("/dev/uinput", uinput.Options{Name: scannerName, Vendor: 0x1d6b, Product: 0x0104})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := kb.EventNode(ctx)
	if err != nil {
		kb.Destroy()
		return err
	}
	if err := os.MkdirAll(filepath.Dir(scannerLink), 0o755); err != nil {
		kb.Destroy()
		return err
	}
	os.Remove(scannerLink)
	if err := os.Symlink("../"+filepath.Base(node), scannerLink); err != nil {
		kb.Destroy()
		return fmt.Errorf("making the by-id link: %w", err)
	}
	sc.kb, sc.node = kb, node
	return nil
}

// unplug removes the link and destroys the device.
func (sc *scanner) unplug() error {
	if sc.kb == nil {
		return nil
	}
	os.Remove(scannerLink)
	err := sc.kb.Destroy()
	sc.kb, sc.node = nil, ""
	return err
}

// keyGap is the time between two characters the virtual scanner types. A
// USB HID scanner sends a report per poll interval (1 ms or more), and a
// key stroke is a press and a release report. The kernel's evdev client
// buffer holds 64 events for a keyboard (8 packets, 64 at least) and drops
// the whole buffer (SYN_DROPPED) when a reader falls behind, so typing
// faster than a reader is scheduled loses characters, and kioskd's reader
// (input/hid) then hands on a garbled read (raw.hid-overflow). Under TCG
// emulation a reader may wait a few hundred milliseconds for a CPU: at
// 4 ms a character scanner.1 once got "not-a-code" on armhf. 20 ms, a slow
// "keyboard speed" setting of real modules, lets the buffer cover ~300 ms.
const keyGap = 20 * time.Millisecond

// keyTimeout is the reader's inter-key timeout (the hid input's key_timeout
// in kioskd's config). The reader measures gaps on the kernel's event
// times, which are when the guest's typist wrote each key: under TCG on a
// loaded host the typist itself once stalled over 1 s mid-code, and kioskd
// rightly dropped the half and read the rest as not-a-code. 5 s keeps such
// stalls from splitting a code; the scanner module itself never pauses.
const keyTimeout = 5 * time.Second

// scan types text and Enter, as the module does after decoding a code, and
// returns the time just before Enter went out: nothing can be decided
// before it, and typing a code at keyGap takes seconds under emulation.
func (sc *scanner) scan(text string) (time.Time, error) {
	if sc.kb == nil {
		return time.Time{}, errors.New("scanner unplugged")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t := time.Now()
	if err := sc.kb.Type(ctx, text, uinput.NoTerminator, keyGap); err != nil {
		return t, err
	}
	time.Sleep(keyGap)
	// The terminator apart and timed before it is written: kioskd may act
	// on it before Type returns.
	t = time.Now()
	return t, sc.kb.Type(ctx, "", uinput.Enter, 0)
}

// readWhileScanning reads r in the background while text is typed (the
// evdev buffer is too small to hold a typed code nobody reads) and returns
// what r read up to the terminator.
func (sc *scanner) readWhileScanning(ctx context.Context, r *uinput.Reader, text string) (string, error) {
	type result struct {
		text string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		got, _, err := r.ReadText(ctx, uinput.Enter)
		done <- result{got, err}
	}()
	if _, err := sc.scan(text); err != nil {
		<-done // ends at ctx's deadline at the latest
		return "", err
	}
	res := <-done
	return res.text, res.err
}

// rawUinput proves the scanner half of the harness without kioskd: a code
// typed on the uinput keyboard is read back through the kernel's evdev node
// (by its by-id link) with the US layout and shift; a second reader cannot
// grab the device and sees nothing while the first holds the grab (as a
// console or kiosk browser must not); unplugged, the reader gets ENODEV;
// plugged in again, it types through the new node.
func rawUinput() (string, error) {
	var sc scanner
	if err := sc.plug(); err != nil {
		return "", err
	}
	defer sc.unplug()
	first := sc.node
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := uinput.OpenEvdev(scannerLink)
	if err != nil {
		return "", err
	}
	defer r.Close()
	if name, err := r.Name(); err != nil || name != scannerName {
		return "", fmt.Errorf("device name %q (%v), want %q", name, err, scannerName)
	}
	if err := r.Grab(); err != nil {
		return "", err
	}
	other, err := uinput.OpenEvdev(scannerLink)
	if err != nil {
		return "", err
	}
	defer other.Close()
	if err := other.Grab(); !errors.Is(err, unix.EBUSY) {
		return "", fmt.Errorf("a second grab: %v, want EBUSY", err)
	}
	// A code, and the URL form with the characters that need shift.
	texts := []string{code("raw"), "https://kiosk.example/v?c=" + code("raw") + "&T=Ab_1!"}
	for _, text := range texts {
		got, err := sc.readWhileScanning(ctx, r, text)
		if err != nil {
			return "", fmt.Errorf("reading the typed code back: %w", err)
		}
		if got != text {
			return "", fmt.Errorf("evdev read %d characters that differ from the %d typed", len(got), len(text))
		}
	}
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	_, keys, err := other.ReadText(short, uinput.Enter)
	cancelShort()
	if keys != 0 || !errors.Is(err, uinput.ErrNoTerminator) {
		return "", fmt.Errorf("the reader without the grab saw %d key events (%v)", keys, err)
	}
	if err := sc.unplug(); err != nil {
		return "", err
	}
	if _, _, err := r.ReadText(ctx, uinput.Enter); !errors.Is(err, unix.ENODEV) {
		return "", fmt.Errorf("reading an unplugged scanner: %v, want ENODEV", err)
	}
	if _, err := os.Lstat(scannerLink); !os.IsNotExist(err) {
		return "", fmt.Errorf("by-id link still there after unplug: %v", err)
	}
	if err := sc.plug(); err != nil {
		return "", fmt.Errorf("plugging in again: %w", err)
	}
	r2, err := uinput.OpenEvdev(scannerLink)
	if err != nil {
		return "", err
	}
	defer r2.Close()
	if err := r2.Grab(); err != nil {
		return "", err
	}
	text := code("raw after replug")
	if got, err := sc.readWhileScanning(ctx, r2, text); err != nil || got != text {
		return "", fmt.Errorf("after replug read %d characters (%v), want the %d typed", len(got), err, len(text))
	}
	return fmt.Sprintf("%s -> %s: %d codes typed and read back (US layout, shift), grab exclusive (EBUSY, nothing seen), ENODEV on unplug, replugged as %s",
		scannerLink, first, len(texts), sc.node), nil
}
