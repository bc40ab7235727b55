package notify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestSendNeverBlocks: a service manager that stops reading its socket must
// not stall the daemon's health loop. Once the socket's queue is full, a
// send fails within sendTimeout instead of waiting for a reader.
func TestSendNeverBlocks(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	n := New(sock)
	full := false
	for i := 0; i < 10000 && !full; i++ {
		full = n.Status("still here") != nil
	}
	if !full {
		t.Fatal("the socket never filled up: cannot test")
	}
	t0 := time.Now()
	err = n.Status("still here")
	if took := time.Since(t0); err == nil || took > 10*sendTimeout {
		t.Errorf("send on a full socket: err %v after %v; want an error within ~%v", err, took, sendTimeout)
	}
}
