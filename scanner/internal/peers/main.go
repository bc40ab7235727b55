// Command peers measures kioskd's QR decoder side by side with zbar and
// zxing-cpp (through the small C++ program native/peers.cpp, built by native/build.sh
// against Debian's libzbar-dev and libzxing-dev) and with plain gozxing:
// decode rate on the ZXing black-box images, and time per frame on
// generated 640×480 and 1280×720 camera frames with and without a code.
// Every decoder gets the same 8-bit luminance (PGM files written here).
//
//	sh scanner/internal/peers/native/build.sh /tmp/kioskd-peers
//	go run ./scanner/internal/peers -bin /tmp/kioskd-peers
package main

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/scanner/internal/synth"
)

func main() {
	bin := flag.String("bin", "/tmp/kioskd-peers", "peer harness binary (build.sh)")
	blackbox := flag.String("blackbox", "scanner/testdata/qr-blackbox", "black-box image sets")
	iters := flag.Int("n", 200, "decodes per frame when timing")
	skipRate := flag.Bool("no-rate", false, "skip the decode-rate part")
	cam := flag.Bool("camera", false, "only the camera corpus report (camera.go)")
	manifest := flag.String("manifest", "scanner/testdata/camera-corpus.tsv", "camera corpus manifest, with -camera")
	camN := flag.Int("camera-n", 3, "decodes per frame when timing the camera corpus")
	camList := flag.Bool("camera-list", false, "with -camera, list the frames a peer reads and kioskd does not")
	flag.Parse()
	tmp, err := os.MkdirTemp("", "kioskd-peers-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if *cam {
		camera(*bin, *manifest, tmp, *camN, *camList)
		return
	}
	if !*skipRate {
		rate(*bin, *blackbox, tmp)
	}
	timing(*bin, tmp, *iters)
}

// decoder is one way of decoding a luminance frame.
type decoder struct {
	name string
	fn   func(scanner.Frame) (string, bool)
}

func goDecoders() []decoder {
	ours := scanner.NewDecoder(scanner.DecoderOptions{})
	reader := qrcode.NewQRCodeReader()
	plain := func(f scanner.Frame) (string, bool) {
		// gozxing the way its README shows: HybridBinarizer, no hints.
		img := &image.Gray{Pix: f.Y, Stride: f.Stride, Rect: image.Rect(0, 0, f.Width, f.Height)}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			return "", false
		}
		r, err := reader.Decode(bmp, nil)
		if err != nil {
			return "", false
		}
		return r.GetText(), true
	}
	return []decoder{
		{"kioskd", func(f scanner.Frame) (string, bool) { ours.ForgetRegion(); return ours.Decode(f) }},
		{"gozxing plain", plain},
	}
}

// heldDecoder is kioskd's decoder as the daemon runs it on a camera stream:
// it keeps the region of the previous frame's code, so a code held in view
// is read from there first (the "kioskd" column forgets it every frame: the
// cost of first sight).
func heldDecoder() decoder {
	d := scanner.NewDecoder(scanner.DecoderOptions{})
	return decoder{"kioskd held", d.Decode}
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func rate(bin, root, tmp string) {
	type item struct{ set, pgm, want string }
	var items []item
	sets, _ := filepath.Glob(filepath.Join(root, "qrcode-*"))
	for _, dir := range sets {
		imgs, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range imgs {
			ext := strings.ToLower(filepath.Ext(p))
			if ext != ".png" && ext != ".jpg" && ext != ".gif" {
				continue
			}
			want, err := os.ReadFile(strings.TrimSuffix(p, filepath.Ext(p)) + ".txt")
			if err != nil {
				continue
			}
			img, err := scanner.LoadImage(p, scanner.DefaultMaxImagePixels)
			if err != nil {
				log.Fatal(err)
			}
			f := scanner.FrameFromImage(img, nil)
			out := filepath.Join(tmp, filepath.Base(dir)+"-"+strings.TrimSuffix(filepath.Base(p), ext)+".pgm")
			writePGM(out, f)
			items = append(items, item{filepath.Base(dir), out, collapse(string(want))})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].pgm < items[j].pgm })
	setNames := []string{}
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it.set] {
			seen[it.set] = true
			setNames = append(setNames, it.set)
		}
	}
	type column struct {
		name string
		got  map[string]int
	}
	var cols []column
	for _, d := range goDecoders() {
		c := column{d.name, map[string]int{}}
		for _, it := range items {
			f := readPGM(it.pgm)
			if t, ok := d.fn(f); ok && collapse(t) == it.want {
				c.got[it.set]++
				c.got["total"]++
			}
		}
		cols = append(cols, c)
	}
	pgms := make([]string, len(items))
	for i, it := range items {
		pgms[i] = it.pgm
	}
	for _, lib := range []string{"zbar", "zxing"} {
		out, err := exec.Command(bin, append([]string{lib, "rate"}, pgms...)...).Output()
		if err != nil {
			log.Fatalf("%s: %v", lib, err)
		}
		c := column{lib, map[string]int{}}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		for i, line := range lines {
			parts := strings.Split(line, "\t")
			if len(parts) < 3 || parts[1] != "1" {
				continue
			}
			text, _ := hex.DecodeString(parts[2])
			if collapse(string(text)) == items[i].want {
				c.got[items[i].set]++
				c.got["total"]++
			}
		}
		cols = append(cols, c)
	}
	fmt.Printf("### Decode rate, %d black-box images (same luminance for all)\n\n| set | images |", len(items))
	for _, c := range cols {
		fmt.Printf(" %s |", c.name)
	}
	fmt.Printf("\n|---|---|%s\n", strings.Repeat("---|", len(cols)))
	count := map[string]int{}
	for _, it := range items {
		count[it.set]++
		count["total"]++
	}
	for _, s := range append(setNames, "total") {
		fmt.Printf("| %s | %d |", s, count[s])
		for _, c := range cols {
			fmt.Printf(" %d |", c.got[s])
		}
		fmt.Println()
	}
	fmt.Println()
}

func timing(bin, tmp string, n int) {
	code := "3186215257041c5e811efc4fa4fcea5850e818842ca09abe5b8a2a661169050b"
	scenes := []struct {
		name string
		s    synth.Scene
	}{
		{"640x480 no code", synth.Scene{W: 640, H: 480, Blur: 1, Noise: 3, Seed: 1}},
		{"640x480 no code, cluttered", synth.Scene{W: 640, H: 480, Clutter: 60, Blur: 1, Noise: 3, Seed: 2}},
		{"640x480 code", synth.Scene{W: 640, H: 480, Text: code, Size: 220, CX: 300, CY: 250, Rotate: 5, Blur: 1, Noise: 3, Seed: 3}},
		{"640x480 dark-mode code", synth.Scene{W: 640, H: 480, Text: code, Size: 220, CX: 300, CY: 250, Rotate: 5, Invert: true, Blur: 1, Noise: 3, Seed: 4}},
		{"1280x720 no code", synth.Scene{W: 1280, H: 720, Blur: 1, Noise: 3, Seed: 5}},
		{"1280x720 no code, cluttered", synth.Scene{W: 1280, H: 720, Clutter: 80, Blur: 1, Noise: 3, Seed: 6}},
		{"1280x720 code", synth.Scene{W: 1280, H: 720, Text: code, Size: 330, CX: 600, CY: 380, Rotate: 5, Blur: 1, Noise: 3, Seed: 7}},
		{"1280x720 dark-mode code", synth.Scene{W: 1280, H: 720, Text: code, Size: 330, CX: 600, CY: 380, Rotate: 5, Invert: true, Blur: 1, Noise: 3, Seed: 8}},
	}
	type cell struct {
		cpu float64 // ms
		ok  bool
	}
	results := map[string]map[string]cell{}
	var pgms []string
	for i, sc := range scenes {
		img, err := synth.Render(sc.s)
		if err != nil {
			log.Fatal(err)
		}
		p := filepath.Join(tmp, fmt.Sprintf("frame-%d.pgm", i))
		writePGM(p, scanner.FrameFromImage(img, nil))
		pgms = append(pgms, p)
		results[sc.name] = map[string]cell{}
		for _, d := range append(goDecoders(), heldDecoder()) {
			f := readPGM(p)
			_, ok := d.fn(f)
			// The Go decoders run in this process: collect what the rate
			// part (and the last decoder) left behind first, or the
			// collector's background work is billed to the next timing.
			runtime.GC()
			c0 := cpuNow()
			for k := 0; k < n; k++ {
				// Numbered like a camera stream (stills are Seq 0).
				f.Seq = uint64(k + 1)
				d.fn(f)
			}
			results[sc.name][d.name] = cell{float64(cpuNow()-c0) / float64(n) / 1e6, ok}
		}
	}
	libs := []string{"zbar", "zxing"}
	for _, lib := range libs {
		// Which frames the library decodes at all.
		out, err := exec.Command(bin, append([]string{lib, "rate"}, pgms...)...).Output()
		if err != nil {
			log.Fatalf("%s: %v", lib, err)
		}
		oks := strings.Split(strings.TrimSpace(string(out)), "\n")
		out, err = exec.Command(bin, append([]string{lib, "time", strconv.Itoa(n)}, pgms...)...).Output()
		if err != nil {
			log.Fatalf("%s: %v", lib, err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			parts := strings.Split(line, "\t")
			ns, _ := strconv.ParseFloat(parts[1], 64)
			ok := strings.Split(oks[i], "\t")[1] == "1"
			results[scenes[i].name][lib] = cell{ns / 1e6, ok}
		}
	}
	names := []string{"kioskd", "kioskd held", "gozxing plain", "zbar", "zxing"}
	fmt.Printf("### CPU time per frame, ms (mean of %d decodes of the same frame; ✓ = code decoded; kioskd = first sight, kioskd held = the same code in the previous frame)\n\n| frame |", n)
	for _, nm := range names {
		fmt.Printf(" %s |", nm)
	}
	fmt.Printf("\n|---|%s\n", strings.Repeat("---:|", len(names)))
	for _, sc := range scenes {
		fmt.Printf("| %s |", sc.name)
		for _, nm := range names {
			c := results[sc.name][nm]
			mark := ""
			if sc.s.Text != "" {
				mark = " ✗"
				if c.ok {
					mark = " ✓"
				}
			}
			fmt.Printf(" %.2f%s |", c.cpu, mark)
		}
		fmt.Println()
	}
	fmt.Println()
	// A camera at 30 fps with nothing in view: YUYV de-interleaving plus
	// decoding, per second of video, as a share of one core.
	yuyv := make([]byte, 640*480*2)
	y := make([]byte, 640*480)
	c0 := cpuNow()
	for k := 0; k < n; k++ {
		for r := 0; r < 480; r++ {
			s := yuyv[r*1280 : r*1280+1280]
			d := y[r*640 : r*640+640]
			for x := range d {
				d[x] = s[2*x]
			}
		}
	}
	conv := float64(cpuNow()-c0) / float64(n) / 1e6
	for _, sc := range []string{"640x480 no code", "640x480 no code, cluttered"} {
		ms := results[sc]["kioskd"].cpu + conv
		fmt.Printf("- 30 fps, %s: %.2f ms decode + %.2f ms YUYV→Y per frame = %.0f ms CPU per second of video (%.1f%% of one core)\n",
			sc, results[sc]["kioskd"].cpu, conv, 30*ms, 30*ms/10)
	}
}

func cpuNow() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func writePGM(path string, f scanner.Frame) {
	var buf bytes.Buffer
	if err := scanner.EncodePGM(&buf, f); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func readPGM(path string) scanner.Frame {
	img, err := scanner.LoadImage(path, scanner.DefaultMaxImagePixels)
	if err != nil {
		log.Fatal(err)
	}
	return scanner.FrameFromImage(img, nil)
}
