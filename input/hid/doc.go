// Package hid reads a USB 2D barcode scanner that presents itself as a
// keyboard ("keyboard wedge") through Linux evdev, and turns its keystrokes
// into complete reads for kioskd's text path (package input).
//
// OpenDevice opens the event node (preferably /dev/input/by-id/…-event-kbd)
// and grabs it with EVIOCGRAB, so what the scanner types reaches kioskd
// only: never a console login, never the kiosk's browser. A Decoder maps
// key codes with a US layout plus shift (scanners are set to a US layout;
// a kiosk code is hex and its URL form ASCII), ends a read at the
// configured terminator (Enter, the usual factory setting, or Tab), and
// drops a half-typed read when the next key comes more than the key
// timeout after the previous one. Reader.Read (an input.Text) ties them together and
// follows the device through hot-plug: a scanner unplugged is reported down
// (Options.OnState), and reopened, grabbed again, once it is back.
//
// # Driving it from a test
//
// Without a kernel device: give Options.Open a function that returns the
// read end of an os.Pipe, and write the events a scanner would send with
// Encode(Type(text, Enter, start, gap)); closing the write end is the
// scanner being unplugged, and the next Open call is it coming back (see
// reader_test.go). Event times come from the events themselves, so the key
// timeout is tested without sleeping.
//
// With the kernel in between (the hardware-in-the-loop VM): create a
// virtual keyboard with /dev/uinput (EV_KEY with the codes Type uses, a
// name to find it by under /dev/input/by-id or /sys/class/input), point an
// `inputs:` entry (kind: hid, device: its event node) at it, and write
// the key events of Type (with a few ms of gap, EV_SYN after each) to the uinput
// descriptor; destroying the uinput device is an unplug. KeyFor gives the
// key code and shift for one character.
//
// The package registers itself as the input kind hid (kind.go, Config: the
// keys of an inputs: entry); assembly/kinds.go links it in.
package hid
