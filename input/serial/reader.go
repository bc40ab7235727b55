package serial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
	bugst "go.bug.st/serial"
)

// Parity is a serial line's parity setting.
type Parity uint8

const (
	NoParity Parity = iota
	EvenParity
	OddParity
)

func (p Parity) String() string {
	switch p {
	case EvenParity:
		return "even"
	case OddParity:
		return "odd"
	}
	return "none"
}

// ParseParity reads "none", "even" or "odd".
func ParseParity(s string) (Parity, error) {
	switch s {
	case "none":
		return NoParity, nil
	case "even":
		return EvenParity, nil
	case "odd":
		return OddParity, nil
	}
	return 0, fmt.Errorf("serial: parity %q: want none, even or odd", s)
}

// Options configure a Reader. Only Device is required.
type Options struct {
	// Device is the port: /dev/serial/by-id/… for a USB-CDC module (it
	// survives replugging into another port), /dev/serial0 for the Pi's UART.
	Device string
	// Baud is the line speed (default 9600, most modules' factory setting).
	Baud int
	// DataBits is 7 or 8 (default 8); StopBits 1 or 2 (default 1).
	DataBits int
	StopBits int
	Parity   Parity
	// Terminator ends each read (default CR).
	Terminator Terminator
	// Trigger, if set, is sent to the module to make it scan, for modules
	// set to scan on command: when the port opens, after each read, and
	// every TriggerEvery while nothing is read.
	Trigger      []byte
	TriggerEvery time.Duration
	// ByteTimeout drops a read whose next byte comes later than this
	// (default DefaultByteTimeout).
	ByteTimeout time.Duration
	// Logger receives faults; nil discards. Reads are never logged.
	Logger *slog.Logger
	// OnState hears every change of the port's health, from the goroutine
	// running Run; nil ignores.
	OnState func(scanner.State)
	// RetryMin and RetryMax bound the delay between attempts to reopen a
	// port that is away (defaults 250ms and 2s).
	RetryMin, RetryMax time.Duration
}

// DefaultByteTimeout: a module sends a read in one burst, so a gap of half
// a second inside one means the rest was lost.
const DefaultByteTimeout = 500 * time.Millisecond

// DefaultTriggerEvery is how often the trigger is re-sent while nothing is
// read: a module's own scan window is typically a few seconds.
const DefaultTriggerEvery = 3 * time.Second

// poll is how often a blocked read wakes to expire a half read and resend
// the trigger.
const poll = 100 * time.Millisecond

// Reader reads a serial scanner module. It implements input.Text.
type Reader struct {
	o    Options
	mode bugst.Mode
	log  *slog.Logger
}

// New checks o and returns a Reader; it does not touch the port.
func New(o Options) (*Reader, error) {
	if o.Device == "" {
		return nil, errors.New("serial: no device")
	}
	if o.Baud == 0 {
		o.Baud = 9600
	}
	if o.DataBits == 0 {
		o.DataBits = 8
	}
	if o.StopBits == 0 {
		o.StopBits = 1
	}
	if o.Baud < 0 || (o.DataBits != 7 && o.DataBits != 8) || (o.StopBits != 1 && o.StopBits != 2) {
		return nil, fmt.Errorf("serial: baud %d, %d data bits, %d stop bits: want a positive baud, 7 or 8 data bits, 1 or 2 stop bits",
			o.Baud, o.DataBits, o.StopBits)
	}
	if o.Terminator > CRLF || o.Parity > OddParity {
		return nil, errors.New("serial: unknown terminator or parity")
	}
	if o.ByteTimeout <= 0 {
		o.ByteTimeout = DefaultByteTimeout
	}
	if o.TriggerEvery <= 0 {
		o.TriggerEvery = DefaultTriggerEvery
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 250 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(2*time.Second, o.RetryMin)
	}
	mode := bugst.Mode{BaudRate: o.Baud, DataBits: o.DataBits, Parity: bugst.NoParity, StopBits: bugst.OneStopBit}
	switch o.Parity {
	case EvenParity:
		mode.Parity = bugst.EvenParity
	case OddParity:
		mode.Parity = bugst.OddParity
	}
	if o.StopBits == 2 {
		mode.StopBits = bugst.TwoStopBits
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{o: o, mode: mode, log: log.With("device", o.Device)}, nil
}

// Describe implements input.Input.
func (r *Reader) Describe() string {
	return fmt.Sprintf("serial %s %d %d%c%d", r.o.Device, r.o.Baud, r.o.DataBits, "NEO"[r.o.Parity], r.o.StopBits)
}

// Read implements input.Text: it opens the port, hands over each complete
// read, and when the port vanishes reports it down and reopens it once it
// is back, until ctx ends.
func (r *Reader) Read(ctx context.Context, emit func(input.Read)) error {
	rep := input.Reporter{OnState: r.o.OnState}
	bo := input.Backoff{Min: r.o.RetryMin, Max: r.o.RetryMax}
	lines := Lines{Terminator: r.o.Terminator, Timeout: r.o.ByteTimeout}
	for ctx.Err() == nil {
		mode := r.mode
		port, err := bugst.Open(r.o.Device, &mode)
		if err != nil {
			err = fmt.Errorf("serial: opening %s: %w", r.o.Device, err)
			if rep.Report(down(err)); !input.Sleep(ctx, bo.Next()) {
				break
			}
			continue
		}
		bo.Reset()
		rep.Report(scanner.State{Up: true, Detail: r.Describe()})
		r.log.Info("scanner open", "port", r.Describe())
		err = r.read(ctx, port, &lines, emit)
		lines.Reset()
		if ctx.Err() != nil {
			break
		}
		r.log.Warn("scanner lost", "err", err)
		rep.Report(down(err))
		if !input.Sleep(ctx, bo.Next()) {
			break
		}
	}
	return nil
}

func down(err error) scanner.State {
	return scanner.State{Detail: err.Error(), Err: err}
}

// read reads the port until it fails or ctx ends; it always closes port.
func (r *Reader) read(ctx context.Context, port bugst.Port, lines *Lines, emit func(input.Read)) error {
	// Close wakes a read in progress; the read returns before the close
	// ends, so wait for it: the port is free when Read returns.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { port.Close(); close(closed) })
	defer func() {
		if stop() {
			port.Close()
		} else {
			<-closed
		}
	}()
	if err := port.SetReadTimeout(poll); err != nil {
		return fmt.Errorf("serial: setting the read timeout: %w", err)
	}
	var lastTrigger time.Time
	trigger := func(now time.Time) error {
		if len(r.o.Trigger) == 0 {
			return nil
		}
		lastTrigger = now
		if _, err := port.Write(r.o.Trigger); err != nil {
			return fmt.Errorf("serial: sending the trigger: %w", err)
		}
		return nil
	}
	if err := trigger(time.Now()); err != nil {
		return err
	}
	buf := make([]byte, 256)
	dropped := lines.Dropped()
	for {
		n, err := port.Read(buf)
		now := time.Now()
		if err != nil {
			return fmt.Errorf("serial: reading %s: %w", r.o.Device, err)
		}
		read := false
		if n > 0 {
			lines.Feed(buf[:n], now, func(text string) {
				read = true
				emit(input.Read{Text: text, At: now})
			})
			clear(buf[:n])
		} else {
			lines.Expire(now)
		}
		if d := lines.Dropped(); d != dropped {
			r.log.Info("scanner read dropped (cut off, or too long)", "dropped_total", d)
			dropped = d
		}
		if read || (len(r.o.Trigger) > 0 && now.Sub(lastTrigger) >= r.o.TriggerEvery) {
			if err := trigger(now); err != nil {
				return err
			}
		}
	}
}
