package handoff

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Env is what an output kind (webhook, mqtt) needs from the kiosk around it
// to open one output: who it is, the durable queue, and how to read the
// files and secrets its configuration names.
type Env struct {
	// Name is the output's name (its queue, status line and metrics label);
	// Kiosk the kiosk's id, for the payloads.
	Name, Kiosk string
	Queue       Queue
	Logger      *slog.Logger
	// Resolve makes a path of the configuration absolute (relative to the
	// config file's folder); nil = as written.
	Resolve func(string) string
	// Secret reads a secret: the environment variable env when set, else
	// the file as the configuration names it (a bare name first in
	// $CREDENTIALS_DIRECTORY under systemd, else resolved like any path);
	// "" when neither is set. key names the setting in errors, which never
	// quote the value. Required by kinds with secrets.
	Secret func(key, file, env string) (string, error)
}

// SecretEnv is the environment variable holding an output's secret what
// ("SECRET", "CREDENTIALS"): KIOSKD_OUTPUT_<NAME>_<WHAT>, the name
// upper-cased with - as _.
func SecretEnv(name, what string) string {
	return "KIOSKD_OUTPUT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_" + what
}

// Path resolves a configured path.
func (e Env) Path(p string) string {
	if p == "" || e.Resolve == nil {
		return p
	}
	return e.Resolve(p)
}

// maxPEM bounds a CA file: a bundle is a few hundred KiB at most, and a
// mistaken path to a device or a disk image must not fill the memory.
const maxPEM = 1 << 20

// CAConfig is a TLS config trusting the PEM bundle at the configured path
// (key names it in errors), or nil (the system's roots) when path is "".
func (e Env) CAConfig(key, path string) (*tls.Config, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(e.Path(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s is not a regular file", key, path)
	}
	pem, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if len(pem) > maxPEM {
		return nil, fmt.Errorf("%s: %s is larger than %d KiB: not a CA bundle", key, path, maxPEM>>10)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: %s holds no PEM certificate", key, path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Common is the part of an output's configuration every kind shares.
type Common struct {
	// Verdicts is "all" (default) or "accepted".
	Verdicts string `yaml:"verdicts"`
	// MaxQueued bounds the queue (0 = DefaultMaxQueued).
	MaxQueued int `yaml:"max_queued"`
}

// Check validates the shared keys and fills their defaults.
func (c *Common) Check() error {
	if c.Verdicts == "" {
		c.Verdicts = "all"
	}
	if c.Verdicts != "all" && c.Verdicts != "accepted" {
		return fmt.Errorf("verdicts: must be all or accepted, not %q", c.Verdicts)
	}
	if c.MaxQueued == 0 {
		c.MaxQueued = DefaultMaxQueued
	}
	if c.MaxQueued < 10 || c.MaxQueued > 1000000 {
		return fmt.Errorf("max_queued: must be between 10 and 1000000, not %d", c.MaxQueued)
	}
	return nil
}

// Open makes the hub of one output: kind and target for status, its
// sender, its queue.
func (e Env) Open(c Common, kind, target string, s Sender) (*Hub, error) {
	if e.Queue == nil {
		return nil, errors.New("no store for the queue")
	}
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return New(Options{Queue: e.Queue, Logger: log, Kiosk: e.Kiosk},
		[]Output{{Name: e.Name, Kind: kind, Target: target, Sender: s, AcceptedOnly: c.Verdicts == "accepted", MaxQueued: c.MaxQueued}})
}
