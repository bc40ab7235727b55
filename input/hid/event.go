package hid

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
	"unsafe"
)

// Event is one struct input_event as the kernel's evdev interface delivers
// it: a timestamp, a type (EvKey, EvSyn...), a code and a value.
type Event struct {
	Time  time.Time
	Type  uint16
	Code  uint16
	Value int32
}

// EventSize is the size of struct input_event for this architecture: the
// timestamp is two longs (a struct timeval, or the kernel's two
// __kernel_ulong_t on 32-bit time64 systems), then type, code and value:
// 24 bytes on 64-bit, 16 on 32-bit (armhf).
const EventSize = 2*int(unsafe.Sizeof(uintptr(0))) + 8

const wordSize = int(unsafe.Sizeof(uintptr(0)))

// AppendEvent appends e in the kernel's layout, for tests that play an
// evdev stream through a pipe.
func AppendEvent(b []byte, e Event) []byte {
	var sec, usec int64
	if !e.Time.IsZero() {
		sec, usec = e.Time.Unix(), int64(e.Time.Nanosecond()/1000)
	}
	if wordSize == 8 {
		b = binary.NativeEndian.AppendUint64(b, uint64(sec))
		b = binary.NativeEndian.AppendUint64(b, uint64(usec))
	} else {
		b = binary.NativeEndian.AppendUint32(b, uint32(sec))
		b = binary.NativeEndian.AppendUint32(b, uint32(usec))
	}
	b = binary.NativeEndian.AppendUint16(b, e.Type)
	b = binary.NativeEndian.AppendUint16(b, e.Code)
	return binary.NativeEndian.AppendUint32(b, uint32(e.Value))
}

// Encode is the events in the kernel's layout, back to back.
func Encode(evs []Event) []byte {
	b := make([]byte, 0, len(evs)*EventSize)
	for _, e := range evs {
		b = AppendEvent(b, e)
	}
	return b
}

// parseEvent reads one event from b (EventSize bytes).
func parseEvent(b []byte) Event {
	var sec, usec int64
	if wordSize == 8 {
		sec = int64(binary.NativeEndian.Uint64(b[0:]))
		usec = int64(binary.NativeEndian.Uint64(b[8:]))
	} else {
		// The 32-bit fields are unsigned in the time64 ABI: a kiosk's
		// clock in 2038 must not go back to 1901.
		sec = int64(binary.NativeEndian.Uint32(b[0:]))
		usec = int64(binary.NativeEndian.Uint32(b[4:]))
	}
	o := 2 * wordSize
	return Event{
		Time:  time.Unix(sec, usec*1000),
		Type:  binary.NativeEndian.Uint16(b[o:]),
		Code:  binary.NativeEndian.Uint16(b[o+2:]),
		Value: int32(binary.NativeEndian.Uint32(b[o+4:])),
	}
}

// eventReader reads whole events from an evdev descriptor, which returns
// only whole events; a pipe (tests) may split them, so partial reads are
// joined.
type eventReader struct {
	r   io.Reader
	buf [64 * EventSize]byte
	n   int // bytes in buf
	off int // next event's start
}

// next returns the next event, reading more when none is buffered.
func (er *eventReader) next() (Event, error) {
	for er.n-er.off < EventSize {
		copy(er.buf[:], er.buf[er.off:er.n])
		er.n -= er.off
		er.off = 0
		m, err := er.r.Read(er.buf[er.n:])
		er.n += m
		if err != nil && er.n-er.off < EventSize {
			if err == io.EOF && er.n > 0 {
				return Event{}, fmt.Errorf("hid: %d stray bytes at the end of the event stream: %w", er.n, io.ErrUnexpectedEOF)
			}
			return Event{}, err
		}
		if m == 0 && err == nil {
			return Event{}, io.ErrNoProgress
		}
	}
	e := parseEvent(er.buf[er.off : er.off+EventSize])
	er.off += EventSize
	return e, nil
}
