// Command opsbench measures `kioskd run` as an appliance: the time from
// start to systemd's READY=1 with a cache of N codes, then the steady RSS and
// CPU while it replays camera frames without codes at 30 fps.
//
//	go run ./internal/opsbench -codes 100000 -seconds 30
//
// It builds kioskd, fills a state folder by a real sync from the bbtest
// stand-in, then runs the daemon with NOTIFY_SOCKET pointing at its own
// socket, as systemd would.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

func main() {
	codes := flag.Int("codes", 100000, "codes in the cache")
	seconds := flag.Int("seconds", 30, "how long to measure the steady state")
	fps := flag.Int("fps", 30, "replay frame rate")
	frame := flag.String("frame", "", "replay this PGM or PNG frame instead of the demo's empty one (e.g. a noisy camera-model frame from `go run ./scanner/internal/genframes -shots DIR webcam:7:nocode`)")
	flag.Parse()
	if err := run(*codes, *seconds, *fps, *frame); err != nil {
		fmt.Fprintln(os.Stderr, "opsbench:", err)
		os.Exit(1)
	}
}

func run(codes, seconds, fps int, frame string) error {
	dir, err := os.MkdirTemp("", "opsbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "kioskd")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/kioskd").CombinedOutput(); err != nil {
		return fmt.Errorf("building kioskd: %v\n%s", err, out)
	}
	srv := bbtest.NewServer(bbtest.Options{ClientID: "bench"})
	defer srv.Close()
	srv.AddCodes(codes)
	o := srv.Options()
	for name, v := range map[string]string{"api_key": o.APIKey, "client_secret": o.ClientSecret, "refresh_token": o.RefreshToken} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			return err
		}
	}
	frames := filepath.Join(dir, "frames")
	os.MkdirAll(frames, 0o700)
	// The frame is stored as PGM: the replay source reads the file again
	// for every frame, and a PNG's inflate would be billed to kioskd as if
	// a camera cost that (a camera hands over raw YUYV or GREY).
	img, err := loadFrame(frame)
	if err != nil {
		return err
	}
	var pgm bytes.Buffer
	if err := scanner.EncodePGM(&pgm, scanner.FrameFromImage(img, nil)); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(frames, "no-qr.pgm"), pgm.Bytes(), 0o600)
	cfg := fmt.Sprintf(`state_dir: %s/state
log_level: warn
bitbadges: {api_url: %s, client_id: bench, api_key_file: api_key, client_secret_file: client_secret, refresh_token_file: refresh_token, sync_schedule: "@every 24h"}
camera: {source: "dir:%s", fps: %d, loop: true}
gpio: {driver: sim, accept_led: {line: GPIO27}, reject_led: {line: GPIO22}, relay: {line: GPIO17}}
http: {listen: ""}
`, dir, srv.URL(), frames, fps)
	cfgPath := filepath.Join(dir, "kioskd.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)

	t0 := time.Now()
	if out, err := exec.Command(bin, "sync", "-config", cfgPath).CombinedOutput(); err != nil {
		return fmt.Errorf("sync: %v\n%s", err, out)
	}
	fmt.Printf("sync of %d codes: %v\n", codes, time.Since(t0).Round(time.Millisecond))
	if st, err := os.Stat(filepath.Join(dir, "state", "kioskd.db")); err == nil {
		fmt.Printf("bbolt file: %.1f MiB\n", float64(st.Size())/(1<<20))
	}
	// The start-up sync would go to the network first; close the stand-in
	// so start-up is measured from the cache alone, as after a power cut
	// with no network.
	srv.Close()

	sock := filepath.Join(dir, "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer ln.Close()
	cmd := exec.Command(bin, "run", "-config", cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	ready, err := waitReady(ln, 30*time.Second)
	if err != nil {
		return err
	}
	fmt.Printf("start to READY=1 with %d codes cached (no network): %v\n", codes, ready.Sub(start).Round(time.Millisecond))

	time.Sleep(3 * time.Second) // let the replay settle
	cpu0, err := cpuTicks(cmd.Process.Pid)
	if err != nil {
		return err
	}
	w0 := time.Now()
	var rssMax, rssSum, n int
	for time.Since(w0) < time.Duration(seconds)*time.Second {
		time.Sleep(time.Second)
		rss, err := rssKiB(cmd.Process.Pid)
		if err != nil {
			return err
		}
		rssSum += rss
		n++
		rssMax = max(rssMax, rss)
	}
	cpu1, err := cpuTicks(cmd.Process.Pid)
	if err != nil {
		return err
	}
	wall := time.Since(w0).Seconds()
	cpu := float64(cpu1-cpu0) / 100 / wall // USER_HZ is 100 on Linux
	fmt.Printf("steady state over %.0fs replaying %d fps without codes: CPU %.1f%% of one core, RSS mean %.1f MiB, max %.1f MiB\n",
		wall, fps, cpu*100, float64(rssSum)/float64(n)/1024, float64(rssMax)/1024)
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Signal(syscall.SIGQUIT) // its goroutine dump goes to stderr
		<-done
		return errors.New("kioskd did not stop within 10 s of SIGINT")
	}
	return nil
}

func waitReady(ln *net.UnixConn, timeout time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		ln.SetReadDeadline(time.Now().Add(timeout))
		n, _, err := ln.ReadFromUnix(buf)
		if err != nil {
			return time.Time{}, fmt.Errorf("waiting for READY=1: %w", err)
		}
		if strings.Contains(string(buf[:n]), "READY=1") {
			return time.Now(), nil
		}
	}
	return time.Time{}, ctx.Err()
}

func rssKiB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, errors.New("no VmRSS")
}

func cpuTicks(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return u + k, nil
}

// loadFrame reads the frame to replay: the file given (PGM or PNG), else
// the demo's empty frame.
func loadFrame(path string) (image.Image, error) {
	var f fs.File
	var err error
	if path == "" {
		f, err = demoframes.FS().Open("03-no-qr.png")
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if strings.HasSuffix(strings.ToLower(path), ".pgm") {
		return scanner.DecodePGM(f)
	}
	return png.Decode(f)
}
