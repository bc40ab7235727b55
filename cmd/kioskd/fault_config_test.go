package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFaultConfigFiles: the configuration file itself, and the fleet's CA
// bundle it names, were read whole with os.ReadFile: `-config /dev/zero`
// ate memory until the kernel killed kioskd, and a FIFO in its place hung
// the command for ever. Each must end at once with exit 2 and a message
// saying what is wrong with which file, within a small memory bound.
func TestFaultConfigFiles(t *testing.T) {
	mkfifo := func(dir string) string {
		p := filepath.Join(dir, "x.fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := func(dir string) string {
		p := filepath.Join(dir, "big")
		os.WriteFile(p, nil, 0o600)
		if err := os.Truncate(p, 1<<30); err != nil { // sparse
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		// config returns the -config argument; it may edit e's config.
		config func(e *env) string
		want   string
	}{
		{"config is /dev/zero", func(*env) string { return "/dev/zero" }, "not a regular file (a character device)"},
		{"config is a FIFO", func(e *env) string { return mkfifo(e.dir) }, "not a regular file (a FIFO)"},
		{"config is 1 GiB", func(e *env) string { return big(e.dir) }, "file too large"},
		{"config is a folder", func(e *env) string { return e.dir }, "not a regular file (a folder)"},
		{"fleet.ca_file is /dev/zero", func(e *env) string {
			e.appendConfig("fleet:\n  broker: mqtts://127.0.0.1:1\n  ca_file: /dev/zero\n")
			return e.cfg
		}, "fleet.ca_file /dev/zero: not a regular file (a character device)"},
		{"fleet.ca_file is a FIFO", func(e *env) string {
			e.appendConfig("fleet:\n  broker: mqtts://127.0.0.1:1\n  ca_file: " + mkfifo(e.dir) + "\n")
			return e.cfg
		}, "not a regular file (a FIFO)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "")
			r := e.kioskdPeak(20*time.Second, 256<<10, "run", "-config", tt.config(e))
			if r.killed != "" {
				t.Fatalf("kioskd run killed: %s\n%s", r.killed, r.stderr)
			}
			if r.code != exitError || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("kioskd run: exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("a panic or a stack:\n%s", r.stderr)
			}
			checkPeak(t, tt.name, r)
		})
	}
}

// appendConfig adds YAML at the end of the env's config file.
func (e *env) appendConfig(yaml string) {
	f, err := os.OpenFile(e.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if _, err := f.WriteString(yaml); err != nil {
		panic(err)
	}
}
