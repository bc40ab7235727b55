package gpiosim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Tracer records every level the kernel's gpiolib sets on any line, through
// the gpio_value and gpio_direction trace events. Unlike sampling sysfs it
// misses nothing, however short: a glitch of a few microseconds between a
// line being requested as an output and its level being set shows up as its
// own event. Marks written with Mark appear in the same ordered stream, so a
// test can tell what happened before and after its own actions.
type Tracer struct {
	dir string
}

const tracefs = "/sys/kernel/tracing"

// StartTrace mounts tracefs if needed, clears the buffer and enables the
// gpio events.
func StartTrace() (*Tracer, error) {
	if _, err := os.Stat(filepath.Join(tracefs, "trace")); err != nil {
		if err := mountTracefs(); err != nil {
			return nil, err
		}
	}
	t := &Tracer{dir: tracefs}
	for _, s := range []struct{ file, val string }{
		{"tracing_on", "0"},
		{"trace", ""},
		{"events/gpio/enable", "1"},
		{"tracing_on", "1"},
	} {
		if err := os.WriteFile(filepath.Join(t.dir, s.file), []byte(s.val), 0); err != nil {
			return nil, fmt.Errorf("setting up gpio tracing (%s): %w", s.file, err)
		}
	}
	return t, nil
}

// Stop turns the gpio events off.
func (t *Tracer) Stop() error {
	return os.WriteFile(filepath.Join(t.dir, "events/gpio/enable"), []byte("0"), 0)
}

// Mark writes text into the trace, ordered with the gpio events.
func (t *Tracer) Mark(text string) error {
	if err := os.WriteFile(filepath.Join(t.dir, "trace_marker"), []byte(text), 0); err != nil {
		return fmt.Errorf("writing a trace mark: %w", err)
	}
	return nil
}

// TraceEvent is one line of the trace: a gpio level set, a direction
// change, or a mark.
type TraceEvent struct {
	Comm  string // the task that caused it, e.g. "kioskd-123"
	Kind  string // "set", "out", "in" or "mark"
	GPIO  int    // global GPIO number (set, out, in)
	Value int    // level set (set)
	Text  string // mark text
}

// Events reads the trace so far.
func (t *Tracer) Events() ([]TraceEvent, error) {
	f, err := os.Open(filepath.Join(t.dir, "trace"))
	if err != nil {
		return nil, fmt.Errorf("reading the trace: %w", err)
	}
	defer f.Close()
	return parseTrace(f)
}

// parseTrace reads tracefs' text format: "# ..." header lines, then one
// event a line, "<comm>-<pid> [cpu] flags timestamp: <event>: <fields>".
// Lines of other events are skipped; a gpio line that does not parse is an
// error, since a silently dropped level set would hide a glitch.
func parseTrace(r io.Reader) ([]TraceEvent, error) {
	var out []TraceEvent
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		comm := strings.Fields(line)[0]
		switch {
		case strings.Contains(line, "tracing_mark_write: "):
			_, txt, _ := strings.Cut(line, "tracing_mark_write: ")
			out = append(out, TraceEvent{Comm: comm, Kind: "mark", Text: strings.TrimSpace(txt)})
		case strings.Contains(line, "gpio_value: "):
			// "%u %3s %d": number, get|set, value
			_, rest, _ := strings.Cut(line, "gpio_value: ")
			f := strings.Fields(rest)
			if len(f) != 3 {
				return nil, fmt.Errorf("unexpected gpio_value line %q", line)
			}
			if f[1] != "set" {
				continue
			}
			n, err1 := strconv.Atoi(f[0])
			v, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("unexpected gpio_value line %q", line)
			}
			out = append(out, TraceEvent{Comm: comm, Kind: "set", GPIO: n, Value: v})
		case strings.Contains(line, "gpio_direction: "):
			// "%u %3s (%d)": number, in|out, error
			_, rest, _ := strings.Cut(line, "gpio_direction: ")
			f := strings.Fields(rest)
			if len(f) != 3 || (f[1] != "in" && f[1] != "out") {
				return nil, fmt.Errorf("unexpected gpio_direction line %q", line)
			}
			n, err := strconv.Atoi(f[0])
			if err != nil {
				return nil, fmt.Errorf("unexpected gpio_direction line %q", line)
			}
			out = append(out, TraceEvent{Comm: comm, Kind: f[1], GPIO: n})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the trace: %w", err)
	}
	return out, nil
}

// Base is the chip's first global GPIO number, which the trace events use:
// found through the sysfs class folder that carries the chip's label.
func (c *Chip) Base() (int, error) {
	dirs, _ := filepath.Glob("/sys/class/gpio/gpiochip*")
	for _, d := range dirs {
		if l, err := readTrim(filepath.Join(d, "label")); err != nil || l != c.Label {
			continue
		}
		b, err := readTrim(filepath.Join(d, "base"))
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(b)
	}
	return 0, errors.New("no /sys/class/gpio/gpiochip* carries the chip's label")
}
