//go:build unix

package scanner

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time: benchmarks report it per
// operation because wall time on a shared machine counts other work too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
