package serial

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
)

// BenchmarkLines splits one kiosk code line.
func BenchmarkLines(b *testing.B) {
	line := []byte(strings.Repeat("0123456789abcdef", 4) + "\r\n")
	l := Lines{Terminator: CR, Timeout: DefaultByteTimeout}
	n := 0
	emit := func(string) { n++ }
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for i := 0; i < b.N; i++ {
		l.Feed(line, t0, emit)
	}
	if n != b.N {
		b.Fatalf("%d reads of %d", n, b.N)
	}
}

// BenchmarkPtyRead: from a module's write of a code line to the reader's
// emit, through a real pty (the kernel's tty layer, go.bug.st/serial's
// select-based read and Lines): the serial path's share of a scan's latency.
func BenchmarkPtyRead(b *testing.B) {
	link := filepath.Join(b.TempDir(), "tty")
	m := plugModule(b, link)
	states := make(chan scanner.State, 4)
	scans := make(chan input.Read, 1)
	r, _ := New(Options{Device: link, OnState: func(s scanner.State) { states <- s }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Read(ctx, func(s input.Read) { scans <- s })
	if s := <-states; !s.Up {
		b.Fatalf("state %+v", s)
	}
	line := strings.Repeat("0123456789abcdef", 4) + "\r"
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		m.master.WriteString(line)
		<-scans
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/read")
}
