package hid

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
)

// Options configure a Reader. Only Device is required.
type Options struct {
	// Device is the evdev node: a /dev/input/by-id/…-event-kbd path
	// survives replugging into another USB port, /dev/input/eventN does not.
	Device string
	// Terminator ends each read (default Enter).
	Terminator Terminator
	// KeyTimeout is the longest gap between two keys of one read; a
	// half-typed read is dropped after it. 0: DefaultKeyTimeout.
	KeyTimeout time.Duration
	// Logger receives faults; nil discards. Reads are never logged.
	Logger *slog.Logger
	// OnState hears every change of the device's health, from the
	// goroutine running Run; nil ignores.
	OnState func(scanner.State)
	// RetryMin and RetryMax bound the delay between attempts to reopen
	// a device that is away (defaults 250ms and 2s).
	RetryMin, RetryMax time.Duration
	// Open opens Device and returns its event stream, holding the device
	// exclusively. nil: OpenDevice (evdev with EVIOCGRAB). Tests pass a
	// function returning a pipe they write Encode'd events to; closing
	// its write end is the device vanishing.
	Open func(path string) (io.ReadCloser, error)
}

// DefaultKeyTimeout is the default longest gap between two keys of one
// read. Scanners type a key every 1–10 ms (the slowest "keyboard speed"
// settings about 50 ms); a person at a keyboard is far slower.
const DefaultKeyTimeout = 200 * time.Millisecond

// Reader reads a keyboard-wedge scanner through evdev. It implements
// input.Text.
type Reader struct {
	o   Options
	log *slog.Logger
	// evdev: Open is OpenDevice, so the device's own name can be read.
	evdev bool
}

// New checks o and returns a Reader; it does not touch the device.
func New(o Options) (*Reader, error) {
	if o.Device == "" {
		return nil, errors.New("hid: no device")
	}
	if o.Terminator != Enter && o.Terminator != Tab {
		return nil, fmt.Errorf("hid: terminator %d unknown", o.Terminator)
	}
	if o.KeyTimeout < 0 {
		return nil, errors.New("hid: negative key timeout")
	}
	if o.KeyTimeout == 0 {
		o.KeyTimeout = DefaultKeyTimeout
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 250 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(2*time.Second, o.RetryMin)
	}
	evdev := o.Open == nil
	if evdev {
		o.Open = OpenDevice
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{o: o, log: log.With("device", o.Device), evdev: evdev}, nil
}

// Describe implements input.Input.
func (r *Reader) Describe() string { return "hid " + r.o.Device }

// Read implements input.Text: it opens the device, hands over each
// complete read, and when the device vanishes reports it down and reopens
// it once it is back, until ctx ends.
func (r *Reader) Read(ctx context.Context, emit func(input.Read)) error {
	rep := input.Reporter{OnState: r.o.OnState}
	bo := input.Backoff{Min: r.o.RetryMin, Max: r.o.RetryMax}
	for ctx.Err() == nil {
		dev, err := r.o.Open(r.o.Device)
		if err != nil {
			if rep.Report(down(err)); !input.Sleep(ctx, bo.Next()) {
				break
			}
			continue
		}
		bo.Reset()
		detail := r.o.Device
		if r.evdev {
			// The name the scanner gives itself tells an installer the
			// right device was configured.
			if name, err := DeviceName(r.o.Device); err == nil && name != "" {
				detail += " (" + name + ")"
			}
		}
		rep.Report(scanner.State{Up: true, Detail: detail})
		r.log.Info("scanner open", "name", detail)
		err = r.read(ctx, dev, emit)
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

// read decodes the device's events until it fails or ctx ends; it always
// closes dev.
func (r *Reader) read(ctx context.Context, dev io.ReadCloser, emit func(input.Read)) error {
	// Closing the descriptor is what unblocks a read in progress. The read
	// returns as the close begins: wait for it to end, so the device is
	// released (the grab with it) when Read returns.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { dev.Close(); close(closed) })
	defer func() {
		if stop() {
			dev.Close()
		} else {
			<-closed
		}
	}()
	d := Decoder{Terminator: r.o.Terminator, Timeout: r.o.KeyTimeout}
	er := eventReader{r: dev}
	dropped := 0
	for {
		e, err := er.next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				err = fmt.Errorf("hid: device gone: %w", err)
			}
			return err
		}
		var text string
		var ok bool
		switch {
		case e.Type == EvSyn && e.Code == SynDropped:
			d.Lost(e.Time)
		case e.Type == EvKey:
			text, ok = d.Key(e.Code, e.Value, e.Time)
		default:
			continue
		}
		if n := d.Dropped(); n != dropped {
			// The count, not the text: a half code is still most of a code.
			r.log.Info("scanner read dropped (half-typed past the key timeout, too long, or keys lost by the kernel)", "dropped_total", n)
			dropped = n
		}
		if ok {
			emit(input.Read{Text: text, At: time.Now()})
		}
	}
}
