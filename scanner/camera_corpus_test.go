package scanner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kioskd/kioskd/scanner/internal/synth"
)

// The camera corpus (tracker issue 16): testdata/camera-corpus.tsv lists
// 336 frames, 40 with a code and 8 without for each condition of
// scanner/internal/synth, rendered again here from each row.
const cameraManifest = "testdata/camera-corpus.tsv"

// cameraFloor is, per condition, how many of the corpus's 40 codes the
// decoder must read: a little below what it read when the corpus was made
// (cameraToday). The decoder work of issue 16 (h-decode) raises both.
//
// When the corpus was made (main at efbc81d) the decoder read webcam 28,
// motion 26, lowlight 23, mjpeg 33, moire 27, 720p-small 17, rolling 30 of
// 40; zxing-cpp 34, 25, 31, 36, 23, 24, 36 and zbar 18, 21, 17, 30, 20,
// 20, 33 (go run ./scanner/internal/peers -camera). The floors are two
// below ours: room for the last-bit differences of other architectures.
//
// With the noise-aware preprocessing (h-decode, issue 16 items 1-3) it read
// 32, 27, 28, 33, 27, 22, 29 (198 of 280; zxing-cpp 209). With the grid
// pass (h-grid: grid.go, sampling the grey image from the gate's finder
// patterns) it reads 39, 32, 34, 38, 33, 29, 37 (242 of 280, 35 of them
// dark mode; zxing-cpp 209, no dark mode). With the finder triple's corner
// judged by its angle (h-grid2: rightIsosceles) it reads 39, 32, 36, 38,
// 33, 30, 38 (246 of 280, 35 of them dark mode): the floors are two below
// that, but rolling's stays at 35: fresh seeds 1100000 read 28 of its 40,
// which a floor of 36 (less 3σ: 30) would fail.
var cameraFloor = map[synth.Condition]int{
	synth.Webcam:    37,
	synth.Motion:    30,
	synth.LowLight:  34,
	synth.MJPEG:     36,
	synth.Moire:     31,
	synth.Small720p: 28,
	synth.Rolling:   35,
}

// cameraDigest is the SHA-256 of all corpus frames' pixels in manifest
// order, as amd64 renders them. Other architectures may differ in the last
// bit of a fused multiply-add, so only amd64 checks it; a change in the
// camera model that changes the frames must come with a new manifest (and
// new floors), not slip by.
const cameraDigest = "95e17ebd927f5d4283b7dc20f7f4262c334cde36833c92cc44c40771cb37a774"

// skipSlowCorpus skips under the race detector (pure computation over 336
// frames: minutes there; the Makefile's test-norace step runs it, and a
// skip there fails) and with -short (test-arm: emulated, far too slow).
func skipSlowCorpus(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("camera corpus runs without -race")
	}
	if testing.Short() {
		t.Skip("camera corpus skipped with -short")
	}
}

type cameraTally struct {
	codes, read, wrong  int
	empty, falseReads   int
	codeTime, emptyTime []time.Duration
}

// decodeCorpus renders and decodes every entry with one decoder that
// forgets the previous frame's code (each frame is a first sight), and
// tallies per condition. sum, if not nil, receives every frame's pixels.
func decodeCorpus(t *testing.T, entries []synth.Entry, sum func([]byte)) map[synth.Condition]*cameraTally {
	t.Helper()
	d := NewDecoder(DecoderOptions{})
	out := map[synth.Condition]*cameraTally{}
	for _, c := range synth.Conditions() {
		out[c] = &cameraTally{}
	}
	out[darkMode] = &cameraTally{}
	// Render the next frames on the other core while this one decodes; the
	// renderer stops when the test ends, drained or not.
	type rendered struct {
		img *image.Gray
		err error
	}
	frames := make(chan rendered, 2)
	stop := make(chan struct{})
	done := make(chan struct{})
	defer func() { close(stop); <-done }()
	go func() {
		defer close(done)
		for _, e := range entries {
			img, err := e.Shot.Render()
			select {
			case frames <- rendered{img, err}:
			case <-stop:
				return
			}
		}
	}()
	for _, e := range entries {
		r := <-frames
		img, err := r.img, r.err
		if err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		if sum != nil {
			sum(img.Pix)
		}
		d.ForgetRegion()
		t0 := time.Now()
		text, ok := d.Decode(grayFrame(img))
		dt := time.Since(t0)
		tl := out[e.Condition]
		if e.Shot.Invert && e.Shot.Text != "" {
			out[darkMode].codes++
		}
		switch {
		case e.Shot.Text == "":
			tl.empty++
			tl.emptyTime = append(tl.emptyTime, dt)
			if ok {
				tl.falseReads++
				// The text of a false read is no secret: it came out of noise.
				t.Errorf("%s: no code in the frame, decoded %q", e.File, text)
			}
		case ok && text == e.Shot.Text:
			tl.codes++
			tl.read++
			tl.codeTime = append(tl.codeTime, dt)
			if e.Shot.Invert {
				out[darkMode].read++
			}
		case ok:
			tl.codes++
			tl.wrong++
			tl.codeTime = append(tl.codeTime, dt)
			t.Errorf("%s: decoded %q, want %q", e.File, text, e.Shot.Text)
		default:
			tl.codes++
			tl.codeTime = append(tl.codeTime, dt)
		}
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// darkMode tallies the light-on-dark codes of every condition.
const darkMode = synth.Condition("dark mode")

func logTallies(t *testing.T, tallies map[synth.Condition]*cameraTally) {
	t.Helper()
	defer t.Logf("dark mode: read %d/%d", tallies[darkMode].read, tallies[darkMode].codes)
	for _, c := range synth.Conditions() {
		tl := tallies[c]
		t.Logf("%-11s read %2d/%d (wrong %d), median %5.1f ms; no code: %d false of %d, median %5.1f ms (wall, indicative)",
			c, tl.read, tl.codes, tl.wrong, ms(median(tl.codeTime)), tl.falseReads, tl.empty, ms(median(tl.emptyTime)))
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func readCameraManifest(t testing.TB) []synth.Entry {
	t.Helper()
	raw, err := os.ReadFile(cameraManifest)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := synth.ReadManifest(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestCameraCorpus decodes the committed corpus: per condition at least the
// floor, and not one false read (a code where there is none, or the wrong
// text).
func TestCameraCorpus(t *testing.T) {
	skipSlowCorpus(t)
	entries := readCameraManifest(t)
	if len(entries) < 300 {
		t.Fatalf("%d frames in %s, want at least 300", len(entries), cameraManifest)
	}
	// The rows are what the generator draws from their seeds: the corpus is
	// not a hand-picked selection, and Draw has not drifted from it.
	for _, e := range entries {
		s, err := synth.Draw(e.Condition, e.Seed, e.Shot.Text == "")
		if err != nil {
			t.Fatal(err)
		}
		if s != e.Shot {
			t.Fatalf("%s: the manifest row differs from what synth.Draw makes of its seed:\n row  %s\n draw %s\n(regenerate with go run ./scanner/internal/genframes -write-manifest %s)",
				e.File, e.Shot.Params(), s.Params(), cameraManifest)
		}
	}
	h := sha256.New()
	tallies := decodeCorpus(t, entries, func(p []byte) { h.Write(p) })
	logTallies(t, tallies)
	if got := hex.EncodeToString(h.Sum(nil)); runtime.GOARCH == "amd64" && got != cameraDigest {
		t.Errorf("the corpus frames' digest is %s, want %s: the camera model changed the frames", got, cameraDigest)
	}
	for _, c := range synth.Conditions() {
		tl := tallies[c]
		if tl.read < cameraFloor[c] {
			t.Errorf("%s: read %d of %d codes, floor %d", c, tl.read, tl.codes, cameraFloor[c])
		}
		if tl.empty == 0 || tl.codes == 0 {
			t.Errorf("%s: %d frames with a code and %d without: the corpus must hold both", c, tl.codes, tl.empty)
		}
	}
}

// TestCameraFreshSeeds draws the corpus again from fresh seeds, so that no
// threshold is tuned to the committed frames. The seed is random and logged;
// KIOSKD_SYNTH_SEED=N repeats a run. Per condition the read count must stay
// within three binomial standard deviations below the floor (a fair decoder
// fails that about once in 700 conditions), the total within three of the
// total's, and there must be no false read at all.
func TestCameraFreshSeeds(t *testing.T) {
	skipSlowCorpus(t)
	base := rand.Uint64() >> 1
	if v := os.Getenv("KIOSKD_SYNTH_SEED"); v != "" {
		var err error
		if base, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("KIOSKD_SYNTH_SEED=%q: %v", v, err)
		}
	}
	t.Logf("fresh seeds from %d (repeat with KIOSKD_SYNTH_SEED=%d)", base, base)
	manifest := readCameraManifest(t)
	perCond := map[synth.Condition][2]int{} // codes, empty
	for _, e := range manifest {
		n := perCond[e.Condition]
		if e.Shot.Text == "" {
			n[1]++
		} else {
			n[0]++
		}
		perCond[e.Condition] = n
	}
	n := perCond[synth.Webcam]
	entries, err := synth.Corpus(base, n[0], n[1])
	if err != nil {
		t.Fatal(err)
	}
	tallies := decodeCorpus(t, entries, nil)
	logTallies(t, tallies)
	var read, floor, codes int
	for _, c := range synth.Conditions() {
		tl := tallies[c]
		read, floor, codes = read+tl.read, floor+cameraFloor[c], codes+tl.codes
		if min := freshMin(cameraFloor[c], tl.codes); tl.read < min {
			t.Errorf("%s: read %d of %d fresh codes, want at least %d (floor %d of the manifest's frames less 3σ)", c, tl.read, tl.codes, min, cameraFloor[c])
		}
	}
	if min := freshMin(floor, codes); read < min {
		t.Errorf("read %d of %d fresh codes in all, want at least %d (floor %d less 3σ)", read, codes, min, floor)
	}
}

// freshMin is the least read count of n fresh codes still in line with a
// floor of floor of n: three binomial standard deviations below it.
func freshMin(floor, n int) int {
	if n == 0 {
		return 0
	}
	p := float64(floor) / float64(n)
	return int(math.Floor(float64(floor) - 3*math.Sqrt(float64(n)*p*(1-p))))
}
