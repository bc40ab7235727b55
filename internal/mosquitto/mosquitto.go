// Package mosquitto starts a real Mosquitto broker (Debian's package) for
// tests: on a free 127.0.0.1 port, with a generated config, persistence in a
// temporary folder, and optionally a password file made by mosquitto_passwd.
// Tests skip, saying why, when /usr/sbin/mosquitto is not installed.
package mosquitto

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is Debian's broker.
const Binary = "/usr/sbin/mosquitto"

// Broker is one Mosquitto process that can be stopped and started again on
// the same port with the same persistence folder.
type Broker struct {
	t    testing.TB
	dir  string
	port int
	conf string
	tls  bool

	mu  sync.Mutex
	cmd *exec.Cmd
	log *syncBuffer
}

// syncBuffer is written by exec's copying goroutine and read by Log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Options of the broker.
type Options struct {
	// Users, when not empty, turns anonymous access off and writes a password file.
	Users map[string]string
	// Nagle leaves Mosquitto's default (set_tcp_nodelay false); otherwise
	// the broker sets TCP_NODELAY (compared in BenchmarkPropagation).
	Nagle bool
	// TLS makes the listener mqtts with a certificate for 127.0.0.1 from a
	// CA generated for the test (CAFile).
	TLS bool
}

// Start starts a broker, skipping the test when Mosquitto is absent. It is
// stopped when the test ends.
func Start(t testing.TB, o Options) *Broker {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("%s not installed (apt-get install mosquitto): the fleet needs a real broker to test against", Binary)
	}
	b := &Broker{t: t, dir: t.TempDir(), port: freePort(t), tls: o.TLS}
	conf := fmt.Sprintf("listener %d 127.0.0.1\n", b.port)
	if o.TLS {
		writeCerts(t, b.dir)
		conf += fmt.Sprintf("cafile %[1]s/ca.pem\ncertfile %[1]s/server.pem\nkeyfile %[1]s/server.key\n", b.dir)
	}
	conf += fmt.Sprintf("persistence true\npersistence_location %s/\nautosave_interval 0\nmax_queued_messages 0\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n", b.dir)
	if !o.Nagle {
		conf += "set_tcp_nodelay true\n"
	}
	if os.Geteuid() == 0 {
		// Otherwise Mosquitto drops to the mosquitto user and cannot write the temp folder.
		conf += "user root\n"
	}
	if len(o.Users) > 0 {
		pw := filepath.Join(b.dir, "passwd")
		first := true
		for u, p := range o.Users {
			args := []string{"-b", pw, u, p}
			if first {
				args = append([]string{"-c"}, args...)
				first = false
			}
			if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd: %v: %s", err, out)
			}
		}
		if err := os.Chmod(pw, 0o600); err != nil {
			t.Fatal(err)
		}
		conf += "allow_anonymous false\npassword_file " + pw + "\n"
	} else {
		conf += "allow_anonymous true\n"
	}
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.StartAgain()
	t.Cleanup(b.Stop)
	return b
}

// URL is mqtt://127.0.0.1:port, or mqtts:// with Options.TLS.
func (b *Broker) URL() string {
	if b.tls {
		return "mqtts://127.0.0.1:" + strconv.Itoa(b.port)
	}
	return "mqtt://127.0.0.1:" + strconv.Itoa(b.port)
}

// CAFile is the PEM file of the CA that signed the broker's certificate (Options.TLS).
func (b *Broker) CAFile() string { return filepath.Join(b.dir, "ca.pem") }

// StartAgain (re)starts the broker process and waits until it accepts connections.
func (b *Broker) StartAgain() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		return
	}
	b.log = &syncBuffer{}
	cmd := exec.Command(Binary, "-c", b.conf)
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("starting mosquitto: %v", err)
	}
	b.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(b.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mosquitto did not listen on %d: %v; log:\n%s", b.port, err, b.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the broker with SIGTERM, which makes it save its persistence
// file (sessions and queued messages) before it exits.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

// Log is what the broker printed since it was last started.
func (b *Broker) Log() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
