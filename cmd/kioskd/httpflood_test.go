package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/kioskd/kioskd/status"
)

// TestFaultHTTPConnectionFlood: the listener answered every TCP connection
// with a file descriptor and a goroutine and let an idle keep-alive
// connection stay open for ever, so anyone who could reach the port (no
// token needed to connect) could take every descriptor the unit allows
// (LimitNOFILE). Then the camera's reopen, the store and the sync fail with
// EMFILE. The listener must hold at most 64 connections; the
// others wait in the kernel's backlog, costing kioskd nothing.
func TestFaultHTTPConnectionFlood(t *testing.T) {
	e := newEnv(t, "")
	d := startDaemon(t, e)
	d.waitFor("running", 20*time.Second, func(s status.Snapshot) bool { return !s.Offline })
	fds := func() int {
		ents, err := os.ReadDir("/proc/" + strconv.Itoa(d.cmd.Process.Pid) + "/fd")
		if err != nil {
			t.Fatalf("reading the daemon's descriptors: %v", err)
		}
		return len(ents)
	}
	before := fds()
	const flood = 3 * 64
	addr := fmt.Sprintf("127.0.0.1:%d", e.port)
	for i := range flood {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		defer c.Close()
	}
	// Let the daemon accept what it will.
	deadline := time.Now().Add(3 * time.Second)
	grown := 0
	for time.Now().Before(deadline) {
		grown = fds() - before
		if grown > 64+8 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if grown > 64+8 {
		t.Fatalf("%d idle connections took %d descriptors, want at most %d", flood, grown, 64)
	}
	t.Logf("%d idle connections: the daemon holds %d more descriptors", flood, grown)
}
