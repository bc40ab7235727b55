package notify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestSendNeverBlocks: a service manager that stops reading its socket must
// not stall the daemon's health loop.
func TestSendNeverBlocks(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	n := New(sock)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 2000; i++ { // far more than the socket queues
			_ = n.Status("still here")
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Status blocked on a socket nobody reads")
	}
}
