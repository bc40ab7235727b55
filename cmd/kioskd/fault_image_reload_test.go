package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kioskd/kioskd/internal/imagebomb"
	"github.com/kioskd/kioskd/status"
)

// The fault suite of tracker issue 17 for the binary: `go test -run Fault`.
// Each test reproduces a defect the way a user or an attacker meets it.

// TestFaultDecodeImageBombs: `kioskd decode` on image files whose header
// claims 65535×65535 says the file is too large and exits 2; before the
// pixel cap the PNG killed it with "fatal error: runtime: out of memory".
func TestFaultDecodeImageBombs(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		file string
		data []byte
		args []string
	}{
		{"bomb.png", imagebomb.PNG(65535, 65535), nil},
		{"bomb.gif", imagebomb.GIF(65535, 65535), nil},
		{"bomb.jpg", imagebomb.JPEG(65535, 65535), nil},
		{"bomb.pgm", imagebomb.PGM(8192, 8192), nil},
		// A lower cap from the command line applies to a header of any size.
		{"small.png", imagebomb.PNG(1000, 1000), []string{"-max-pixels", "999999"}},
	}
	for _, tt := range tests {
		p := filepath.Join(e.dir, tt.file)
		if err := os.WriteFile(p, tt.data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := e.kioskd(append(append([]string{"decode"}, tt.args...), p)...)
		if code != exitError || out != "" {
			t.Errorf("decode %s: exit %d, stdout %q; want %d and nothing", tt.file, code, out, exitError)
		}
		if !strings.Contains(errOut, tt.file) || !strings.Contains(errOut, "camera.max_image_pixels") {
			t.Errorf("decode %s: stderr %q does not say the file is over the pixel cap", tt.file, errOut)
		}
		if strings.Contains(errOut, "fatal error") || strings.Contains(errOut, "goroutine ") {
			t.Errorf("decode %s crashed:\n%.2000s", tt.file, errOut)
		}
	}
}

// TestFaultDecodePlainLargePNG: a real 20000×20000 PNG (560 KB on disk)
// decoded into 656 MB (peak RSS) before the cap; now it is refused from its
// header and the peak stays that of a small command.
func TestFaultDecodePlainLargePNG(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 20000x20000 PNG (several seconds)")
	}
	e := newEnv(t, "")
	p := filepath.Join(e.dir, "large.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := imagebomb.WritePlainPNG(f, 20000, 20000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kioskdBin, "decode", p)
	cmd.Env = toolEnv()
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitError || !strings.Contains(string(out), "20000x20000") {
		t.Errorf("decode: exit %d (%v), %q; want %d and the size refused", code, err, out, exitError)
	}
	// Maxrss is in KiB on Linux. A race-built kioskd needs more than a plain
	// one (13 MB): 200 MB is far below the 656 MB the decode took.
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 200<<10 {
		t.Errorf("decode of a 20000x20000 PNG peaked at %d MB RSS", ru.Maxrss>>10)
	}
}

// TestFaultRunSkipsImageBombs: `kioskd run` with a dir: camera holding a
// bomb GIF and a bomb PNG logs and skips both and decides on the good frame
// that follows; before the cap the PNG killed the daemon (out of memory).
func TestFaultRunSkipsImageBombs(t *testing.T) {
	e := newEnv(t, "")
	frames := filepath.Join(e.dir, "frames")
	writeDemoFrames(t, frames, []string{"03-no-qr.png", "01-code-a.png"})
	for name, data := range map[string][]byte{
		"00-bomb.gif": imagebomb.GIF(65535, 65535),
		"00-bomb.png": imagebomb.PNG(65535, 65535),
	} {
		if err := os.WriteFile(filepath.Join(frames, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d := launch(t, e)
	d.waitFor("the good frame's verdict", 30*time.Second, func(s status.Snapshot) bool {
		return len(s.Recent) == 1 && s.Recent[0].Reason == "ok"
	})
	logs := d.log.String()
	for _, name := range []string{"00-bomb.gif", "00-bomb.png"} {
		found := false
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "skipping image") && strings.Contains(l, name) && strings.Contains(l, "camera.max_image_pixels") {
				found = true
			}
		}
		if !found {
			t.Errorf("no log line says %s was skipped for its size", name)
		}
	}
	if exited, err := d.stop(10 * time.Second); !exited || err != nil {
		t.Errorf("stop: exited %v, %v", exited, err)
	}
}

// waitLog waits until the daemon's log holds n lines containing s, or the
// daemon exits, or timeout passes; it reports whether the lines came.
func (d *daemonProc) waitLog(s string, n int, timeout time.Duration) bool {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Count(d.log.String(), s) >= n {
			return true
		}
		select {
		case d.err = <-d.exited:
			d.done = true
			return strings.Count(d.log.String(), s) >= n
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// TestFaultReloadBadAtStartup (issue 17, item 6): a SIGHUP with a
// configuration that is valid YAML but cannot start (a missing secret file,
// a listener beyond localhost without a token, a missing frames folder) is
// refused with a log line and the daemon keeps serving; one that passes
// every check but still fails at start-up (its port is taken) is replaced
// by the previous configuration. Before, each made the daemon exit 2.
func TestFaultReloadBadAtStartup(t *testing.T) {
	e := newEnv(t, "")
	writeDemoFrames(t, filepath.Join(e.dir, "frames"), []string{"01-code-a.png"})
	good, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("listen: 127.0.0.1:%d", e.port)
	d := launch(t, e)
	d.waitFor("the first verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) == 1 })

	refused := []struct{ name, from, to, key string }{
		{"missing secret file", "api_key_file: api_key", "api_key_file: no_such_key", "bitbadges.api_key_file"},
		{"0.0.0.0 without a token", listen, fmt.Sprintf("listen: 0.0.0.0:%d", e.port), "http.listen"},
		{"missing frames folder", "source: dir:" + e.dir + "/frames", "source: dir:" + e.dir + "/no-such-folder", "camera.source"},
	}
	for i, tt := range refused {
		bad := strings.Replace(string(good), tt.from, tt.to, 1)
		if bad == string(good) {
			t.Fatalf("%s: %q is not in the config", tt.name, tt.from)
		}
		if err := os.WriteFile(e.cfg, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		d.cmd.Process.Signal(syscall.SIGHUP)
		if !d.waitLog("reload refused", i+1, 20*time.Second) {
			t.Fatalf("%s: no refusal logged (daemon exited: %v, %v)", tt.name, d.done, d.err)
		}
		lines := strings.Split(d.log.String(), "\n")
		var last string
		for _, l := range lines {
			if strings.Contains(l, "reload refused") {
				last = l
			}
		}
		if !strings.Contains(last, tt.key) {
			t.Errorf("%s: the refusal %q does not name %s", tt.name, last, tt.key)
		}
		if _, err := d.status(); err != nil || d.done {
			t.Fatalf("%s: daemon gone after a refused reload: %v (exited %v, %v)", tt.name, err, d.done, d.err)
		}
	}

	// Valid and checked, but its port is taken: the new generation fails at
	// start-up and the previous configuration (port e.port) comes back.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := strings.Replace(string(good), listen, "listen: "+taken.Addr().String(), 1)
	if err := os.WriteFile(e.cfg, []byte(busy), 0o600); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	if !d.waitLog("going back to the previous configuration", 1, 30*time.Second) {
		t.Fatalf("no fallback to the previous configuration logged (daemon exited: %v, %v)", d.done, d.err)
	}
	d.waitFor("the previous configuration's verdict", 30*time.Second, func(s status.Snapshot) bool { return len(s.Recent) == 1 })
	if d.done {
		t.Fatalf("daemon exited: %v", d.err)
	}
	if exited, err := d.stop(10 * time.Second); !exited || err != nil {
		t.Errorf("stop: exited %v, %v", exited, err)
	}
	for _, s := range []string{e.srv.Options().APIKey, e.srv.Options().ClientSecret} {
		if strings.Contains(d.log.String(), s) {
			t.Error("a secret appears in the daemon's log")
		}
	}
}
