package serial

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
)

// module is a scanner module at the far end of a pty pair: the reader opens
// the tty through link, as it would a /dev/serial/by-id link.
type module struct {
	t      testing.TB
	link   string
	master *os.File
}

func plugModule(t testing.TB, link string) *module {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	name := tty.Name()
	tty.Close() // the reader opens its own
	if err := os.Symlink(name, link); err != nil {
		t.Fatal(err)
	}
	m := &module{t: t, link: link, master: master}
	t.Cleanup(m.unplug)
	return m
}

// unplug closes the master (the reader's read fails with EIO, as a vanished
// USB tty's does) and removes the link, as udev does.
func (m *module) unplug() {
	m.master.Close()
	os.Remove(m.link)
}

func (m *module) send(s string) {
	m.t.Helper()
	if _, err := m.master.WriteString(s); err != nil {
		m.t.Fatal(err)
	}
}

// expect reads from the master until want has arrived.
func (m *module) expect(want string) {
	m.t.Helper()
	m.master.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 64)
	for !strings.Contains(string(got), want) {
		n, err := m.master.Read(buf)
		if err != nil {
			m.t.Fatalf("module received %q, want %q: %v", got, want, err)
		}
		got = append(got, buf[:n]...)
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

func waitUp(t *testing.T, states <-chan scanner.State) {
	t.Helper()
	for s := recv(t, states, "state"); !s.Up; s = recv(t, states, "state") {
		if s.Err == nil {
			t.Fatalf("state %+v: down without its error", s)
		}
	}
}

func TestReaderThroughAPty(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "usb-Scanner_Module_0001-if00")
	m := plugModule(t, link)
	states := make(chan scanner.State, 32)
	scans := make(chan input.Read, 16)
	r, err := New(Options{Device: link, Baud: 115200, Parity: EvenParity, DataBits: 7, Terminator: CRLF,
		OnState: func(s scanner.State) { states <- s }, RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Describe(); d != "serial "+link+" 115200 7E1" {
		t.Errorf("Describe = %q", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Read(ctx, func(s input.Read) { scans <- s }) }()
	waitUp(t, states)

	code := strings.Repeat("ab12", 16)
	m.send(code + "\r\n")
	m.send("https://door.example/?code=" + code[:10])
	m.send(code[10:] + "\r\n")
	for _, want := range []string{code, "https://door.example/?code=" + code} {
		if got := recv(t, scans, "scan").Text; got != want {
			t.Fatalf("scan %q, want %q", got, want)
		}
	}

	// Unplugged mid-line: down, the half line is not a read; back under
	// the same name: up, and reads again.
	m.send(code[:20])
	m.unplug()
	s := recv(t, states, "state")
	if s.Up || s.Err == nil {
		t.Fatalf("after unplugging: %+v, want down with the error", s)
	}
	m = plugModule(t, link)
	waitUp(t, states)
	m.send(code + "\r\n")
	if got := recv(t, scans, "scan after replugging").Text; got != code {
		t.Fatalf("after replugging: %q, want the code alone", got)
	}
	cancel()
	if err := recv(t, done, "Run's end"); err != nil {
		t.Errorf("Run = %v", err)
	}
	select {
	case s := <-scans:
		t.Errorf("extra scan %q", s.Text)
	default:
	}
}

func TestReaderSendsTheTrigger(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyScanner")
	m := plugModule(t, link)
	states := make(chan scanner.State, 8)
	scans := make(chan input.Read, 4)
	trig := "\x16T\r"
	r, _ := New(Options{Device: link, Trigger: []byte(trig), TriggerEvery: 50 * time.Millisecond,
		OnState: func(s scanner.State) { states <- s }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Read(ctx, func(s input.Read) { scans <- s }) }()
	waitUp(t, states)
	m.expect(trig)   // on opening
	m.expect(trig)   // again while nothing is read
	m.send("0123\r") // a module answers a trigger with its read
	recv(t, scans, "scan")
	m.expect(trig) // and the next scan is asked for
	cancel()
	recv(t, done, "Run's end")
}

func TestReaderWhileAway(t *testing.T) {
	link := filepath.Join(t.TempDir(), "absent")
	states := make(chan scanner.State, 8)
	r, _ := New(Options{Device: link, OnState: func(s scanner.State) { states <- s }, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Read(ctx, func(input.Read) {}) }()
	if s := recv(t, states, "state"); s.Up || !strings.Contains(s.Detail, link) {
		t.Errorf("state %+v, want down naming the port", s)
	}
	// Many attempts, one report.
	time.Sleep(30 * time.Millisecond)
	select {
	case s := <-states:
		t.Errorf("a second report while away: %+v", s)
	default:
	}
	cancel()
	if err := recv(t, done, "Run's end"); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestNewChecksOptions(t *testing.T) {
	for _, o := range []Options{{}, {Device: "/dev/x", DataBits: 6}, {Device: "/dev/x", StopBits: 3},
		{Device: "/dev/x", Baud: -1}, {Device: "/dev/x", Terminator: 9}, {Device: "/dev/x", Parity: 9}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
