// Package notify speaks systemd's sd_notify protocol: the few datagrams a
// Type=notify service sends to its manager.
//
// The protocol is one unixgram datagram of newline-separated KEY=VALUE lines
// to the socket named by $NOTIFY_SOCKET. kioskd uses five of them:
//
//	READY=1     start-up is over (cache open, camera and outputs up): systemd
//	            marks the unit active and `systemctl start` returns
//	STATUS=...  one line shown by `systemctl status kioskd`
//	WATCHDOG=1  "still alive"; with WatchdogSec= set, systemd kills and
//	            restarts kioskd when these stop for longer than that
//	RELOADING=1 a SIGHUP reload is in progress (followed by READY=1)
//	STOPPING=1  shutdown has begun
//
// Outside systemd ($NOTIFY_SOCKET unset) every method is a no-op that returns
// nil, so callers never branch on "are we under systemd".
//
// The watchdog is only worth having if it is fed by something that proves the
// daemon works: Watchdog takes a health function and stops feeding while it
// reports false, so a wedged pipeline gets kioskd restarted rather than kept
// alive by a timer that has nothing to do with the door.
//
// This is a few dozen lines over net.UnixConn rather than
// github.com/coreos/go-systemd/daemon: the wire format is trivial and stable,
// and the appliance gains no dependency for it.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends state changes to the service manager. The zero value and a
// nil *Notifier are valid no-op notifiers.
type Notifier struct {
	socket string // $NOTIFY_SOCKET: a path, or "@name" for an abstract socket
	// stall, in tests, runs where a send may lose the CPU: between
	// connecting and writing.
	stall func()
}

// FromEnv returns a Notifier for $NOTIFY_SOCKET (a no-op one when unset).
func FromEnv() *Notifier { return New(os.Getenv("NOTIFY_SOCKET")) }

// New returns a Notifier that sends to socket; "" gives a no-op Notifier.
// A leading '@' names a Linux abstract socket, as systemd writes it.
func New(socket string) *Notifier { return &Notifier{socket: socket} }

// Enabled reports whether there is a service manager to notify.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Send sends the given KEY=VALUE assignments in one datagram.
func (n *Notifier) Send(assignments ...string) error {
	if !n.Enabled() || len(assignments) == 0 {
		return nil
	}
	for _, a := range assignments {
		if !strings.Contains(a, "=") || strings.ContainsRune(a, '\n') {
			return fmt.Errorf("sd_notify: malformed assignment %q", a)
		}
	}
	// Go maps a leading '@' to the abstract namespace itself.
	addr := &net.UnixAddr{Name: n.socket, Net: "unixgram"}
	conn, err := net.DialUnix("unixgram", nil, addr)
	if err != nil {
		return fmt.Errorf("sd_notify: connecting to %s: %w", n.socket, err)
	}
	defer conn.Close()
	msg := []byte(strings.Join(assignments, "\n"))
	if n.stall != nil {
		n.stall()
	}
	// The datagram is offered at once, with no deadline: a deadline set
	// first can pass before the write is even tried when kioskd is not
	// scheduled for sendTimeout (a loaded Pi; the hwtest VM on a busy host
	// lost READY=1 so), and Go then fails the write without trying it.
	sent, err := sendNow(conn, msg)
	if err != nil {
		return fmt.Errorf("sd_notify: sending to %s: %w", n.socket, err)
	}
	if sent {
		return nil
	}
	// The manager's queue is full. One that stops reading must not stall
	// the daemon: a notification that cannot be queued within sendTimeout
	// is dropped.
	_ = conn.SetWriteDeadline(time.Now().Add(sendTimeout))
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("sd_notify: sending to %s: %w", n.socket, err)
	}
	return nil
}

// sendNow writes msg on conn's non-blocking socket if it can be queued
// without waiting; sent is false (and err nil) when the queue is full.
func sendNow(conn *net.UnixConn, msg []byte) (sent bool, err error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false, err
	}
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), msg)
		return true // never wait here: that is what the deadline is for
	}); err != nil {
		return false, err
	}
	if errors.Is(werr, unix.EAGAIN) {
		return false, nil
	}
	return werr == nil, werr
}

// Ready says start-up is complete; status, when not empty, is sent along.
func (n *Notifier) Ready(status string) error {
	if status == "" {
		return n.Send("READY=1")
	}
	return n.Send("READY=1", "STATUS="+oneLine(status))
}

// Status sets the one-line status shown by `systemctl status`.
func (n *Notifier) Status(status string) error { return n.Send("STATUS=" + oneLine(status)) }

// Ping feeds the watchdog once.
func (n *Notifier) Ping() error { return n.Send("WATCHDOG=1") }

// Reloading says a configuration reload has begun; send Ready when it is
// over, whether the new config was taken or rejected. It carries the
// CLOCK_MONOTONIC time, which newer systemd (Type=notify-reload) requires to
// match the reload with the SIGHUP it sent.
func (n *Notifier) Reloading() error {
	if !n.Enabled() {
		return nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("sd_notify: reading the monotonic clock: %w", err)
	}
	usec := int64(ts.Sec)*1_000_000 + int64(ts.Nsec)/1_000 // int32 fields on 32-bit ARM
	return n.Send("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(usec, 10))
}

// Stopping says shutdown has begun.
func (n *Notifier) Stopping() error { return n.Send("STOPPING=1") }

// WatchdogInterval returns systemd's watchdog timeout for this process from
// $WATCHDOG_USEC (and $WATCHDOG_PID, when set, must name this process).
// ok is false when no watchdog is configured.
func WatchdogInterval() (timeout time.Duration, ok bool) {
	return watchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
}

func watchdogInterval(usec, pid string, self int) (time.Duration, bool) {
	if usec == "" {
		return 0, false
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil || p != self {
			return 0, false
		}
	}
	u, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || u <= 0 {
		return 0, false
	}
	return time.Duration(u) * time.Microsecond, true
}

// ErrNoWatchdog is returned by Watchdog when systemd configured none.
var ErrNoWatchdog = errors.New("sd_notify: no watchdog configured (WATCHDOG_USEC unset)")

// Watchdog feeds the watchdog every timeout/2 while healthy() is true, until
// ctx ends. It blocks: run it on a goroutine owned by the daemon's run loop.
// While healthy() is false nothing is sent, so after timeout systemd kills
// and restarts kioskd (Restart=on-failure). Send errors are passed to onErr
// (may be nil) and do not stop the loop.
func (n *Notifier) Watchdog(ctx context.Context, timeout time.Duration, healthy func() bool, onErr func(error)) error {
	if !n.Enabled() {
		<-ctx.Done()
		return nil
	}
	if timeout <= 0 {
		return ErrNoWatchdog
	}
	// Half the timeout, as sd_watchdog_enabled(3) recommends: one missed tick
	// (a slow disk, a GC pause) does not yet cost a restart.
	t := time.NewTicker(timeout / 2)
	defer t.Stop()
	for {
		if healthy == nil || healthy() {
			if err := n.Ping(); err != nil && onErr != nil {
				onErr(err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// oneLine keeps a status to the single line systemd shows.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// sendTimeout bounds one notification's wait for room in the socket.
const sendTimeout = 100 * time.Millisecond
