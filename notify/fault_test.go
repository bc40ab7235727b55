package notify

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFaultNotifyStalledSender (issue 17, item 8): a daemon that loses the
// CPU for longer than sendTimeout in the middle of a send (a loaded Pi; the
// hwtest VM on a busy host, where the harness then waited 60 s for a READY=1
// kioskd had "sent") still delivers the notification when the manager's
// queue has room. Before, the write deadline was set first and Go failed the
// write without trying it once the deadline had passed.
func TestFaultNotifyStalledSender(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	n := New(sock)
	n.stall = func() { time.Sleep(3 * sendTimeout) }
	if err := n.Ready("ready: scanning"); err != nil {
		t.Fatalf("READY=1 after a stall: %v", err)
	}
	ln.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	k, err := ln.Read(buf)
	if err != nil || !strings.Contains(string(buf[:k]), "READY=1") {
		t.Fatalf("the manager got %q, %v; want READY=1", buf[:k], err)
	}
}
