package gpiosim

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestStatPolicy(t *testing.T) {
	// 52 fields as Linux 6.1 prints them; policy (field 41) is 1 here.
	tail := " S 1 98 98 0 -1 4194560 120 0 0 0 3 1 0 0 -51 0 5 0 1200 725000000 2100 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 50 1 0 0 0 0 0 0 0 0 0 0 0"
	tests := []struct {
		name, stat string
		want       int
		ok         bool
	}{
		{"plain name", "98 (hwguest)" + tail, 1, true},
		{"name with spaces and parentheses", "98 (a) b (c)" + tail, 1, true},
		{"no name", "98 hwguest" + tail, 0, false},
		{"cut short", "98 (hwguest) S 1 98", 0, false},
	}
	for _, tt := range tests {
		got, err := statPolicy(tt.stat)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: statPolicy = %d, %v; want %d (ok %v)", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

// No thread stays real-time after the sampler's goroutine ends: left in the
// scheduler's pool it would run other goroutines at real-time priority, and
// processes started from it would inherit SCHED_FIFO.
func TestRealtimeThreadEndsWithItsGoroutine(t *testing.T) {
	got := make(chan string)
	go func() {
		rt, restore := lockRealtime(10)
		defer restore()
		got <- rt
	}()
	if rt := <-got; rt == "normal priority" {
		t.Skip("SCHED_FIFO refused (needs root or CAP_SYS_NICE)")
	}
	// The runtime ends the thread shortly after the goroutine returns.
	deadline := time.Now().Add(5 * time.Second)
	for {
		fifo := realtimeThreads(t)
		if len(fifo) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads %v still SCHED_FIFO after their goroutine ended", fifo)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func realtimeThreads(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var fifo []int
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		p, err := Policy(tid)
		if err != nil {
			continue // the thread ended meanwhile
		}
		if p != 0 {
			fifo = append(fifo, tid)
		}
	}
	return fifo
}
