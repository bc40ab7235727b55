//go:build linux

// Package simchip makes a chip of the kernel's gpio-sim through configfs,
// for tests that run the cdev driver against a real kernel (the hwtest VM).
package simchip

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const configfs = "/sys/kernel/config/gpio-sim"

// Available reports whether gpio-sim can be used here (module loaded,
// configfs mounted; writing it needs root).
func Available() bool {
	_, err := os.Stat(configfs)
	return err == nil
}

// Chip is a live simulated chip.
type Chip struct {
	Label string
	Name  string // gpiochipN
	dir   string
	dev   string // gpio-sim.N
	lines int
}

// New makes a live chip called name with the given label and line names.
func New(name, label string, lines []string) (*Chip, error) {
	c := &Chip{Label: label, dir: filepath.Join(configfs, name), lines: len(lines)}
	bank := filepath.Join(c.dir, "bank0")
	if err := os.MkdirAll(bank, 0o755); err != nil {
		return nil, fmt.Errorf("gpio-sim: %w", err)
	}
	steps := [][2]string{{filepath.Join(bank, "num_lines"), strconv.Itoa(len(lines))}, {filepath.Join(bank, "label"), label}}
	for i, n := range lines {
		l := filepath.Join(bank, "line"+strconv.Itoa(i))
		if err := os.Mkdir(l, 0o755); err != nil {
			return nil, fmt.Errorf("gpio-sim: %w", err)
		}
		steps = append(steps, [2]string{filepath.Join(l, "name"), n})
	}
	steps = append(steps, [2]string{filepath.Join(c.dir, "live"), "1"})
	for _, s := range steps {
		if err := os.WriteFile(s[0], []byte(s[1]), 0o644); err != nil {
			c.Remove()
			return nil, fmt.Errorf("gpio-sim: %w", err)
		}
	}
	c.dev, c.Name = c.read("dev_name"), c.read("bank0/chip_name")
	return c, nil
}

func (c *Chip) read(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, name))
	return strings.TrimSpace(string(b))
}

func (c *Chip) attr(offset int, a string) string {
	return filepath.Join("/sys/devices/platform", c.dev, c.Name, "sim_gpio"+strconv.Itoa(offset), a)
}

// Value is the level the line is driven at (an output) or reads (an input).
func (c *Chip) Value(offset int) (high bool, err error) {
	b, err := os.ReadFile(c.attr(offset, "value"))
	return strings.TrimSpace(string(b)) == "1", err
}

// Pull sets what the simulated world does to the line: pull it up or down.
func (c *Chip) Pull(offset int, up bool) error {
	v := "pull-down"
	if up {
		v = "pull-up"
	}
	return os.WriteFile(c.attr(offset, "pull"), []byte(v), 0o644)
}

// Remove takes the chip down.
func (c *Chip) Remove() {
	os.WriteFile(filepath.Join(c.dir, "live"), []byte("0"), 0o644)
	for i := range c.lines {
		os.Remove(filepath.Join(c.dir, "bank0", "line"+strconv.Itoa(i)))
	}
	os.Remove(filepath.Join(c.dir, "bank0"))
	os.Remove(c.dir)
}
