package hid

import (
	"context"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
)

// fakeDevice stands in for an evdev node: while plugged, Open returns the
// read end of a fresh pipe; unplugging closes the write end (the reader sees
// the stream end, as a read of a removed evdev node fails) and makes Open
// fail with ENOENT, as the by-id link vanishes.
type fakeDevice struct {
	mu    sync.Mutex
	w     *os.File
	ready chan *os.File // the write end of each opened pipe
	in    bool
	opens int
}

func newFakeDevice() *fakeDevice { return &fakeDevice{ready: make(chan *os.File, 1)} }

func (f *fakeDevice) open(string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	if !f.in {
		return nil, &fs.PathError{Op: "open", Path: "/dev/input/by-id/fake-event-kbd", Err: syscall.ENOENT}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	f.w = w
	f.ready <- w
	return r, nil
}

func (f *fakeDevice) plug(in bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.in = in
	if !in && f.w != nil {
		f.w.Close()
		f.w = nil
	}
}

func typeInto(t *testing.T, w *os.File, text string, start time.Time, gap time.Duration) {
	t.Helper()
	evs, err := Type(text, Enter, start, gap)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(Encode(evs)); err != nil {
		t.Fatal(err)
	}
}

func recv[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
	}
	panic("unreachable")
}

func TestReaderFollowsTheDevice(t *testing.T) {
	dev := newFakeDevice()
	dev.plug(true)
	states := make(chan scanner.State, 16)
	scans := make(chan input.Read, 16)
	r, err := New(Options{Device: "/dev/input/by-id/fake-event-kbd", KeyTimeout: 50 * time.Millisecond,
		OnState: func(s scanner.State) { states <- s }, Open: dev.open, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Read(ctx, func(s input.Read) { scans <- s }) }()

	code := strings.Repeat("0f", 32)
	w := recv(t, dev.ready, "open")
	if s := recv(t, states, "state"); !s.Up {
		t.Fatalf("first state %+v, want up", s)
	}
	// Event times are the kernel's: a read typed 3 ms a key is whole, one
	// with a 100 ms hole in it is dropped, and the next read is whole.
	typeInto(t, w, code, t0, 3*time.Millisecond)
	typeInto(t, w, "0f0f", t0.Add(time.Second), 3*time.Millisecond)
	typeInto(t, w, "abc", t0.Add(2*time.Second), 100*time.Millisecond)
	typeInto(t, w, "https://x/?code="+code, t0.Add(3*time.Second), time.Millisecond)
	for _, want := range []string{code, "0f0f", "https://x/?code=" + code} {
		if got := recv(t, scans, "scan").Text; got != want {
			t.Fatalf("scan %q, want %q", got, want)
		}
	}

	// Unplugged half-way through a code: down, and the half code is not a read.
	evs, _ := Type(code, Enter, t0.Add(4*time.Second), time.Millisecond)
	w.Write(Encode(evs[:40]))
	dev.plug(false)
	if s := recv(t, states, "state"); s.Up || s.Err == nil {
		t.Fatalf("after unplugging: %+v, want down with the error", s)
	}
	// Away for several attempts.
	for {
		dev.mu.Lock()
		n := dev.opens
		dev.mu.Unlock()
		if n >= 4 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	dev.plug(true)
	w = recv(t, dev.ready, "reopen")
	// While away the state may change its reason (the stream ended, then
	// the node is missing): all downs, then up.
	for s := recv(t, states, "state"); !s.Up; s = recv(t, states, "state") {
		if s.Err == nil {
			t.Fatalf("while away: %+v, want down with its error", s)
		}
	}
	typeInto(t, w, code, t0.Add(5*time.Second), time.Millisecond)
	if got := recv(t, scans, "scan after replugging").Text; got != code {
		t.Fatalf("after replugging: %q", got)
	}
	select {
	case s := <-scans:
		t.Fatalf("extra scan %q", s.Text)
	case s := <-states:
		t.Fatalf("extra state %+v", s)
	default:
	}

	cancel()
	if err := recv(t, done, "Run's end"); err != nil {
		t.Errorf("Run = %v after cancel, want nil", err)
	}
	// The device was closed: the writer sees a broken pipe.
	if _, err := w.Write(Encode(evs[:2])); err == nil {
		t.Error("the device was left open after Run ended")
	}
}

func TestReaderEndsWhileAway(t *testing.T) {
	dev := newFakeDevice() // never plugged
	states := make(chan scanner.State, 4)
	r, _ := New(Options{Device: "/dev/input/by-id/none", Open: dev.open, OnState: func(s scanner.State) { states <- s }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Read(ctx, func(input.Read) { t.Error("a scan from no device") }) }()
	if s := recv(t, states, "state"); s.Up || !strings.Contains(s.Detail, "no such file") {
		t.Errorf("state %+v, want down naming the missing file", s)
	}
	cancel()
	if err := recv(t, done, "Run's end"); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestNewChecksOptions(t *testing.T) {
	for _, o := range []Options{{}, {Device: "/dev/x", Terminator: 7}, {Device: "/dev/x", KeyTimeout: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestEventStreamSplitReads(t *testing.T) {
	evs, _ := Type("ab", Enter, t0, time.Millisecond)
	b := Encode(evs)
	// A reader handing one byte at a time still yields whole events.
	er := eventReader{r: &oneByte{b}}
	for i, want := range evs {
		got, err := er.next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if got.Type != want.Type || got.Code != want.Code || got.Value != want.Value || !got.Time.Equal(want.Time) {
			t.Fatalf("event %d: %+v, want %+v", i, got, want)
		}
	}
	if _, err := er.next(); err != io.EOF {
		t.Errorf("at the end: %v, want EOF", err)
	}
	er = eventReader{r: strings.NewReader(string(b[:EventSize+3]))}
	er.next()
	if _, err := er.next(); err == nil || err == io.EOF {
		t.Errorf("a torn event: %v, want an unexpected EOF", err)
	}
}

type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}

// A path that is not an evdev node is refused at the grab with a message
// that says what is wrong, and nothing is left open.
func TestOpenDeviceRefusesANonInputDevice(t *testing.T) {
	p := t.TempDir() + "/not-evdev"
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenDevice(p)
	if err == nil || !strings.Contains(err.Error(), "EVIOCGRAB") {
		t.Errorf("OpenDevice(regular file) = %v, want the grab refused", err)
	}
	if _, err := OpenDevice(t.TempDir() + "/missing"); err == nil {
		t.Error("OpenDevice(missing) succeeded")
	}
}
