// Package serial reads a 2D barcode scanner module on a serial line: a
// USB-CDC module (/dev/ttyACM0, better /dev/serial/by-id/…) or a TTL UART
// module on the Raspberry Pi's header (/dev/serial0), through
// go.bug.st/serial. It turns the module's byte stream into complete reads
// for kioskd's text path (package input).
//
// The line settings (baud, data bits, parity, stop bits) and the terminator
// (CR, LF or CRLF) must match the module's; Lines is tolerant where it can
// be (CR and LF never belong to a code, so a CRLF module works with a CR or
// LF setting). A module set to scan on command gets Options.Trigger when the
// port opens, after each read, and every TriggerEvery.
//
// Reader.Read (an input.Text) follows the port through hot-plug: a module unplugged (a read
// error, EIO on a vanished tty) is reported down through Options.OnState,
// and the port is reopened, with the same settings, once it is back.
//
// Tests drive it through a pty pair (github.com/creack/pty): the reader
// opens the pty's tty by a symlink, as it would a /dev/serial/by-id link;
// the test writes what a module sends to the pty's master, and closing the
// master and removing the link is the module being unplugged.
//
// The package registers itself as the input kind serial (kind.go, Config: the
// keys of an inputs: entry); assembly/kinds.go links it in.
package serial
