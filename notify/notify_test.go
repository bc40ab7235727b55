package notify

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listen opens a unixgram socket standing in for systemd's notify socket.
// The path is kept short: sun_path holds 108 bytes, t.TempDir can be longer.
func listen(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return path, conn
}

func recv(t *testing.T, conn *net.UnixConn, wait time.Duration) (string, bool) {
	t.Helper()
	buf := make([]byte, 4096)
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", false
		}
		t.Fatal(err)
	}
	return string(buf[:n]), true
}

func TestMessages(t *testing.T) {
	path, conn := listen(t)
	n := New(path)
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", func() error { return n.Ready("") }, "READY=1"},
		{"ready with status", func() error { return n.Ready("cache 100 codes,\n camera up") }, "READY=1\nSTATUS=cache 100 codes, camera up"},
		{"status", func() error { return n.Status("syncing") }, "STATUS=syncing"},
		{"watchdog", n.Ping, "WATCHDOG=1"},
		{"stopping", n.Stopping, "STOPPING=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.send(); err != nil {
				t.Fatal(err)
			}
			got, ok := recv(t, conn, 2*time.Second)
			if !ok || got != tc.want {
				t.Fatalf("got %q (received %v), want %q", got, ok, tc.want)
			}
		})
	}
}

// TestReloading checks the monotonic stamp: present, a number, and close to
// the monotonic clock (not the wall clock, which systemd would not match).
func TestReloading(t *testing.T) {
	path, conn := listen(t)
	if err := New(path).Reloading(); err != nil {
		t.Fatal(err)
	}
	got, ok := recv(t, conn, 2*time.Second)
	if !ok {
		t.Fatal("nothing sent")
	}
	first, stamp, found := strings.Cut(got, "\nMONOTONIC_USEC=")
	if first != "RELOADING=1" || !found {
		t.Fatalf("got %q", got)
	}
	usec, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		t.Fatalf("MONOTONIC_USEC=%q: %v", stamp, err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	now := int64(ts.Sec)*1_000_000 + int64(ts.Nsec)/1_000
	if usec > now || now-usec > 10_000_000 {
		t.Fatalf("MONOTONIC_USEC=%d, monotonic clock now %d", usec, now)
	}
}

func TestDisabledIsNoop(t *testing.T) {
	for _, n := range []*Notifier{nil, {}, New("")} {
		if n.Enabled() {
			t.Fatal("enabled without a socket")
		}
		if err := n.Ready("x"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := n.Watchdog(ctx, time.Second, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSendErrors(t *testing.T) {
	path, _ := listen(t)
	if err := New(path).Send("READY"); err == nil {
		t.Fatal("assignment without '=' accepted")
	}
	if err := New(path).Send("STATUS=a\nb"); err == nil {
		t.Fatal("assignment with a newline accepted")
	}
	err := New(filepath.Join(t.TempDir(), "missing")).Ready("")
	if err == nil || !strings.Contains(err.Error(), "sd_notify") {
		t.Fatalf("missing socket: got %v", err)
	}
}

func TestAbstractSocket(t *testing.T) {
	name := "@kioskd-notify-test-" + filepath.Base(t.TempDir())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Skipf("abstract sockets unavailable: %v", err)
	}
	defer conn.Close()
	if err := New(name).Ping(); err != nil {
		t.Fatal(err)
	}
	if got, ok := recv(t, conn, 2*time.Second); !ok || got != "WATCHDOG=1" {
		t.Fatalf("got %q", got)
	}
}

func TestWatchdogInterval(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"30000000", "", 30 * time.Second, true},
		{"30000000", "42", 30 * time.Second, true},
		{"30000000", "43", 0, false}, // meant for another process
		{"30000000", "x", 0, false},
		{"0", "", 0, false},
		{"-5", "", 0, false},
		{"abc", "", 0, false},
	}
	for _, tc := range tests {
		got, ok := watchdogInterval(tc.usec, tc.pid, 42)
		if got != tc.want || ok != tc.ok {
			t.Errorf("watchdogInterval(%q, %q) = %v, %v; want %v, %v", tc.usec, tc.pid, got, ok, tc.want, tc.ok)
		}
	}
}

// TestWatchdogFedOnlyWhileHealthy checks the property that matters: an
// unhealthy pipeline stops the pings (so systemd restarts kioskd), a healthy
// one gets them back.
func TestWatchdogFedOnlyWhileHealthy(t *testing.T) {
	path, conn := listen(t)
	var healthy atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(path).Watchdog(ctx, 40*time.Millisecond, healthy.Load, nil) }()

	if got, ok := recv(t, conn, 200*time.Millisecond); ok {
		t.Fatalf("unhealthy pipeline fed the watchdog: %q", got)
	}
	healthy.Store(true)
	if got, ok := recv(t, conn, 5*time.Second); !ok || got != "WATCHDOG=1" {
		t.Fatalf("healthy pipeline: got %q, %v", got, ok)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := New(path).Watchdog(context.Background(), 0, nil, nil); !errors.Is(err, ErrNoWatchdog) {
		t.Fatalf("zero timeout: got %v", err)
	}
}
