// Package gpiosim sets up a simulated GPIO chip with the kernel's gpio-sim
// driver and watches what a program drives on its lines.
//
// A chip is made through configfs (/sys/kernel/config/gpio-sim): a device
// folder, a bank with a label and named lines, then "1" into live. The kernel
// then shows the chip as an ordinary /dev/gpiochipN to the program under test,
// and shows each line's level, as the kernel sees it, in sysfs at
// /sys/devices/platform/<dev_name>/<chip_name>/sim_gpio<N>/value. Reading that
// file never disturbs the line, unlike reading back an output through the
// character device, so it is the witness the tests assert on.
package gpiosim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const configfs = "/sys/kernel/config/gpio-sim"

// Chip is a live gpio-sim chip.
type Chip struct {
	cfg      string // configfs device folder
	Label    string
	ChipName string // gpiochipN
	DevName  string // gpio-sim.N
	Lines    []string
}

// New creates and brings up a chip called name with the given label and line
// names (offset = index).
func New(name, label string, lines []string) (*Chip, error) {
	dev := filepath.Join(configfs, name)
	bank := filepath.Join(dev, "bank0")
	if err := os.MkdirAll(bank, 0o755); err != nil {
		return nil, fmt.Errorf("making gpio-sim bank (is configfs mounted and gpio-sim loaded?): %w", err)
	}
	c := &Chip{cfg: dev, Label: label, Lines: lines}
	steps := []struct{ path, val string }{
		{filepath.Join(bank, "label"), label},
		{filepath.Join(bank, "num_lines"), fmt.Sprint(len(lines))},
	}
	for i, n := range lines {
		ld := filepath.Join(bank, fmt.Sprintf("line%d", i))
		if err := os.MkdirAll(ld, 0o755); err != nil {
			return nil, fmt.Errorf("making gpio-sim line %d: %w", i, err)
		}
		steps = append(steps, struct{ path, val string }{filepath.Join(ld, "name"), n})
	}
	steps = append(steps, struct{ path, val string }{filepath.Join(dev, "live"), "1"})
	for _, s := range steps {
		if err := os.WriteFile(s.path, []byte(s.val), 0); err != nil {
			return nil, fmt.Errorf("configuring gpio-sim (%s): %w", s.path, err)
		}
	}
	var err error
	if c.ChipName, err = readTrim(filepath.Join(bank, "chip_name")); err != nil {
		return nil, err
	}
	if c.DevName, err = readTrim(filepath.Join(dev, "dev_name")); err != nil {
		return nil, err
	}
	if _, err := os.Stat(c.linePath(0, "value")); err != nil {
		return nil, fmt.Errorf("gpio-sim chip is live but its sysfs is not where expected: %w", err)
	}
	return c, nil
}

// Close takes the chip down and removes its configfs folders.
func (c *Chip) Close() error {
	if err := os.WriteFile(filepath.Join(c.cfg, "live"), []byte("0"), 0); err != nil {
		return fmt.Errorf("taking gpio-sim chip down: %w", err)
	}
	bank := filepath.Join(c.cfg, "bank0")
	var errs []error
	for i := range c.Lines {
		errs = append(errs, os.Remove(filepath.Join(bank, fmt.Sprintf("line%d", i))))
	}
	errs = append(errs, os.Remove(bank), os.Remove(c.cfg))
	return errors.Join(errs...)
}

func (c *Chip) linePath(off int, attr string) string {
	return filepath.Join("/sys/devices/platform", c.DevName, c.ChipName, fmt.Sprintf("sim_gpio%d", off), attr)
}

// SetPull sets the level an unrequested (or input) line rests at: what an
// external pull resistor would do on a board.
func (c *Chip) SetPull(off int, up bool) error {
	v := "pull-down"
	if up {
		v = "pull-up"
	}
	if err := os.WriteFile(c.linePath(off, "pull"), []byte(v), 0); err != nil {
		return fmt.Errorf("setting pull of line %d: %w", off, err)
	}
	return nil
}

// Value reads the level of line off as the kernel sees it.
func (c *Chip) Value(off int) (int, error) {
	s, err := readTrim(c.linePath(off, "value"))
	if err != nil {
		return 0, err
	}
	if s == "1" {
		return 1, nil
	}
	return 0, nil
}

func readTrim(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Edge is one observed change of a line's level (the first sample of each
// line is recorded as an Edge too).
type Edge struct {
	Line  int
	Value int
	At    time.Time // the sample that saw the new level (monotonic clock)
	// Prev is the sample before, which still saw the old level: the change
	// happened in (Prev, At]. Under emulation a sample can be late by far
	// more than the interval, so timing assertions use both bounds.
	Prev time.Time
}

// Watcher samples every line of a chip at a fixed interval and records each
// change with the time it was first seen.
type Watcher struct {
	mu       sync.Mutex
	priority string
	maxGap   time.Duration

	edges []Edge
	last  []int
	err   error
	done  chan struct{}
	stop  context.CancelFunc
}

// Watch starts sampling; the caller must Stop it.
func (c *Chip) Watch(interval time.Duration) (*Watcher, error) {
	files := make([]*os.File, len(c.Lines))
	for i := range c.Lines {
		f, err := os.Open(c.linePath(i, "value"))
		if err != nil {
			for _, g := range files[:i] {
				g.Close()
			}
			return nil, fmt.Errorf("opening line %d value: %w", i, err)
		}
		files[i] = f
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{last: make([]int, len(files)), done: make(chan struct{}), stop: cancel}
	for i := range w.last {
		w.last[i] = -1
	}
	go w.sample(ctx, files, interval)
	return w, nil
}

// sample runs on its own OS thread at real-time priority and sleeps with
// nanosleep rather than Go timers: under emulation the guest's CPUs are
// saturated by the program under test, and a normal-priority sampler was
// seen starved for seconds, which made its timings meaningless.
func (w *Watcher) sample(ctx context.Context, files []*os.File, interval time.Duration) {
	defer close(w.done)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	rt, restore := lockRealtime(50)
	defer restore()
	w.mu.Lock()
	w.priority = rt
	w.mu.Unlock()
	ts := unix.NsecToTimespec(interval.Nanoseconds())
	buf := make([]byte, 8)
	prev := make([]time.Time, len(files))
	for ctx.Err() == nil {
		for i, f := range files {
			// A sysfs attribute is regenerated on every read at offset 0.
			n, err := f.ReadAt(buf, 0)
			if n == 0 && err != nil {
				w.mu.Lock()
				w.err = fmt.Errorf("sampling line %d: %w", i, err)
				w.mu.Unlock()
				return
			}
			v := 0
			if buf[0] == '1' {
				v = 1
			}
			now := time.Now()
			w.mu.Lock()
			if v != w.last[i] {
				w.last[i] = v
				w.edges = append(w.edges, Edge{Line: i, Value: v, At: now, Prev: prev[i]})
			}
			if gap := now.Sub(prev[i]); !prev[i].IsZero() && gap > w.maxGap {
				w.maxGap = gap
			}
			w.mu.Unlock()
			prev[i] = now
		}
		unix.Nanosleep(&ts, nil)
	}
}

// Scheduling policies from <sched.h>.
const (
	schedOther = 0
	schedFIFO  = 1
)

// lockRealtime locks the calling goroutine to its OS thread and gives the
// thread SCHED_FIFO priority prio; it returns how the thread now runs, and
// restore, which the goroutine must defer. A real-time thread handed back to
// the scheduler would run other goroutines at that priority, and a process
// started from it (exec.Cmd forks from whichever thread runs Start) inherits
// SCHED_FIFO: a kioskd started so in the VM starved the harness until the
// VM's timeout. So restore sets the thread back to SCHED_OTHER, and the
// goroutine ends still locked, which makes the runtime end the thread with
// it (or, on the main thread, park it for good).
func lockRealtime(prio int32) (desc string, restore func()) {
	runtime.LockOSThread()
	param := struct{ prio int32 }{prio}
	if _, _, e := unix.Syscall(unix.SYS_SCHED_SETSCHEDULER, 0, schedFIFO, uintptr(unsafe.Pointer(&param))); e != 0 {
		return "normal priority", func() {}
	}
	return fmt.Sprintf("SCHED_FIFO %d", prio), func() {
		other := struct{ prio int32 }{0}
		unix.Syscall(unix.SYS_SCHED_SETSCHEDULER, 0, schedOther, uintptr(unsafe.Pointer(&other)))
	}
}

// Policy returns the scheduling policy of process or thread pid (0 is
// SCHED_OTHER, 1 SCHED_FIFO), from /proc/PID/stat.
func Policy(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return statPolicy(string(b))
}

// statPolicy is field 41 (policy) of a /proc/PID/stat line. The command
// name (field 2) is in parentheses and may hold spaces and parentheses, so
// fields are counted after its last ')'.
func statPolicy(stat string) (int, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat line without a command name: %.40q", stat)
	}
	f := strings.Fields(stat[i+1:])
	const policyField = 41 - 3 // fields after the name start at field 3
	if len(f) <= policyField {
		return 0, fmt.Errorf("stat line with %d fields after the name, want over %d", len(f), policyField)
	}
	return strconv.Atoi(f[policyField])
}

// Stop ends sampling and returns the first sampling error, if any.
func (w *Watcher) Stop() error {
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stats says how the sampler thread runs and the longest time seen so far
// between two samples of a line.
func (w *Watcher) Stats() (priority string, maxGap time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.priority, w.maxGap
}

// Edges returns a copy of every change seen so far.
func (w *Watcher) Edges() []Edge {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Edge(nil), w.edges...)
}

// Level is the last sampled value of line off (-1 before the first sample).
func (w *Watcher) Level(off int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[off]
}

// Since returns the changes seen at or after t.
func (w *Watcher) Since(t time.Time) []Edge {
	var out []Edge
	for _, e := range w.Edges() {
		if !e.At.Before(t) {
			out = append(out, e)
		}
	}
	return out
}
