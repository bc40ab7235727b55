package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/status"
)

// noisyFrame is a 640x480 frame with no code, shaded and with strong
// sensor noise: what a cheap camera sees of an empty dim lobby, and a frame
// that takes the decoder far longer than a 240 fps frame period.
func noisyFrame(seed uint64) *image.Gray {
	r := rand.New(rand.NewPCG(seed, 16))
	img := image.NewGray(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			v := 60 + float64(x)/8 + float64(y)/6 + 16*r.NormFloat64()
			img.Pix[y*img.Stride+x] = uint8(min(max(v, 0), 255))
		}
	}
	return img
}

// metricValue reads one unlabelled series from the daemon's /metrics.
func metricValue(t *testing.T, port int, name string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s (status %s)", name, resp.Status)
	return 0
}

// TestLaneKeepsUp runs `kioskd run` on a camera (a replay) at 240 fps
// showing noisy empty frames that each take longer than a frame period to
// decode, then a code. The lane must not work through the backlog: stale
// frames are dropped and counted (kioskd_frames_dropped_total, and
// frames_dropped in `kioskd status`), every frame is either decoded or
// dropped, and the code's verdict latency is measured from the frame's
// capture (kioskd_verdict_latency_seconds, verdict_latency_p50 in status).
// Before, all 60 noisy frames were decoded one after the other and nothing
// was counted or measured.
func TestLaneKeepsUp(t *testing.T) {
	const noisy = 60
	e := newEnv(t, "")
	cfg, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfg, []byte(strings.Replace(string(cfg), "fps: 4\n", "fps: 240\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "frames")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range noisy {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%02d-noise.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, noisyFrame(uint64(i))); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// The last frame of a replay is always shown: the code.
	code, err := fs.ReadFile(demoframes.FS(), "01-code-a.png")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "99-code.png"), code, 0o600); err != nil {
		t.Fatal(err)
	}

	d := launch(t, e)
	d.waitFor("the code's verdict", 60*time.Second, func(s status.Snapshot) bool { return len(s.Recent) >= 1 })
	decoded := metricValue(t, e.port, "kioskd_frames_total")
	dropped := metricValue(t, e.port, "kioskd_frames_dropped_total")
	if decoded+dropped != noisy+1 {
		t.Errorf("%v frames decoded + %v dropped; want all %d accounted for", decoded, dropped, noisy+1)
	}
	// Each noisy frame costs several frame periods: most must be dropped.
	if dropped <= decoded {
		t.Errorf("%v frames decoded, only %v dropped: the lane worked through stale frames", decoded, dropped)
	}
	if n := metricValue(t, e.port, `kioskd_verdict_latency_seconds_count{input="camera"}`); n != 1 {
		t.Errorf("verdict latency histogram holds %v verdicts, want 1", n)
	}

	out, errOut, rc := e.kioskd("status", "-config", e.cfg, "-json")
	if rc != 0 {
		t.Fatalf("kioskd status -json: exit %d: %s", rc, errOut)
	}
	var s struct {
		Camera struct {
			FramesDropped uint64 `json:"frames_dropped"`
			LatencyP50    string `json:"verdict_latency_p50"`
		} `json:"camera"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("kioskd status -json: %v\n%s", err, out)
	}
	if float64(s.Camera.FramesDropped) != dropped {
		t.Errorf("status: %d frames dropped, metrics %v", s.Camera.FramesDropped, dropped)
	}
	t.Logf("%d frames at 240 fps: %v decoded, %v dropped; verdict latency %s", noisy+1, decoded, dropped, s.Camera.LatencyP50)
	lat, err := time.ParseDuration(s.Camera.LatencyP50)
	if err != nil || lat <= 0 || lat > 30*time.Second {
		t.Errorf("status: verdict latency p50 %q (%v); want a measured duration", s.Camera.LatencyP50, err)
	}
}
