package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/kioskd/kioskd/scanner"
	"github.com/kioskd/kioskd/scanner/internal/synth"
)

// cameraFrame is one corpus frame as every decoder sees it.
type cameraFrame struct {
	e   synth.Entry
	pgm string
}

// cameraResult is one decoder on one frame: the text it gave (ok), and its
// process CPU time per decode.
type cameraResult struct {
	text string
	ok   bool
	ms   float64
}

// camera reports, per condition of the camera corpus (tracker issue 16),
// each decoder's read count, false reads, and median CPU time per frame
// with a code and without: every frame rendered once from the manifest,
// written as PGM, decoded by all.
func camera(bin, manifest, tmp string, n int, list bool) {
	raw, err := os.ReadFile(manifest)
	if err != nil {
		log.Fatal(err)
	}
	entries, err := synth.ReadManifest(bytes.NewReader(raw))
	if err != nil {
		log.Fatal(err)
	}
	frames := make([]cameraFrame, len(entries))
	pgms := make([]string, len(entries))
	for i, e := range entries {
		img, err := e.Shot.Render()
		if err != nil {
			log.Fatalf("%s: %v", e.File, err)
		}
		p := filepath.Join(tmp, e.File)
		writePGM(p, scanner.Frame{Y: img.Pix, Width: img.Rect.Dx(), Height: img.Rect.Dy(), Stride: img.Stride})
		frames[i], pgms[i] = cameraFrame{e, p}, p
	}
	results := map[string][]cameraResult{}
	var names []string
	for _, d := range goDecoders() {
		names = append(names, d.name)
		rs := make([]cameraResult, len(frames))
		for i, f := range frames {
			fr := readPGM(f.pgm)
			text, ok := d.fn(fr)
			runtime.GC()
			c0 := cpuNow()
			for k := 0; k < n; k++ {
				d.fn(fr)
			}
			rs[i] = cameraResult{text, ok, float64(cpuNow()-c0) / float64(n) / 1e6}
		}
		results[d.name] = rs
	}
	for _, lib := range []string{"zbar", "zxing"} {
		name := map[string]string{"zbar": "zbar", "zxing": "zxing-cpp"}[lib]
		names = append(names, name)
		rs := make([]cameraResult, len(frames))
		out, err := exec.Command(bin, append([]string{lib, "rate"}, pgms...)...).Output()
		if err != nil {
			log.Fatalf("%s: %v", lib, err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			parts := strings.Split(line, "\t")
			if len(parts) < 2 || i >= len(rs) {
				log.Fatalf("%s: bad output line %q", lib, line)
			}
			var text []byte
			if len(parts) > 2 { // the last line's empty text is trimmed away
				text, _ = hex.DecodeString(parts[2])
			}
			rs[i] = cameraResult{text: string(text), ok: parts[1] == "1"}
		}
		out, err = exec.Command(bin, append([]string{lib, "time", strconv.Itoa(n)}, pgms...)...).Output()
		if err != nil {
			log.Fatalf("%s: %v", lib, err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			parts := strings.Split(line, "\t")
			ns, err := strconv.ParseFloat(parts[1], 64)
			if err != nil || i >= len(rs) {
				log.Fatalf("%s: bad output line %q", lib, line)
			}
			rs[i].ms = ns / 1e6
		}
		results[name] = rs
	}
	printCamera(os.Stdout, frames, names, results, n)
	if list {
		listMisses(os.Stdout, frames, names, results)
	}
}

// listMisses names the frames with a code that a peer reads and kioskd
// does not, for whoever works on the decoder.
func listMisses(w io.Writer, frames []cameraFrame, names []string, results map[string][]cameraResult) {
	fmt.Fprintf(w, "\n### Frames a peer reads and kioskd does not\n\n")
	for i, f := range frames {
		if f.e.Shot.Text == "" || results["kioskd"][i].ok && results["kioskd"][i].text == f.e.Shot.Text {
			continue
		}
		var by []string
		for _, nm := range names[1:] {
			if r := results[nm][i]; r.ok && r.text == f.e.Shot.Text {
				by = append(by, nm)
			}
		}
		if len(by) > 0 {
			fmt.Fprintf(w, "- %s (%s): %s\n", f.e.File, strings.Join(by, ", "), f.e.Shot.Params())
		}
	}
}

type cameraCell struct {
	codes, read, wrong, empty int
	codeMs, emptyMs           []float64
}

// msCell prints a median time, or a dash where there are no frames (the
// dark-mode row has no empty frames).
func msCell(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", medianMs(v))
}

func medianMs(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printCamera(w io.Writer, frames []cameraFrame, names []string, results map[string][]cameraResult, n int) {
	// The rows: each condition, all frames, and the dark-mode codes of
	// every condition (issue 16 counts those apart).
	const darkMode = synth.Condition("dark mode")
	conds := append(synth.Conditions(), "all", darkMode)
	cells := map[string]map[synth.Condition]*cameraCell{}
	for _, nm := range names {
		cells[nm] = map[synth.Condition]*cameraCell{}
		for _, c := range conds {
			cells[nm][c] = &cameraCell{}
		}
		for i, f := range frames {
			r := results[nm][i]
			rows := []synth.Condition{f.e.Condition, "all"}
			if f.e.Shot.Invert && f.e.Shot.Text != "" {
				rows = append(rows, darkMode)
			}
			for _, c := range rows {
				cl := cells[nm][c]
				if f.e.Shot.Text == "" {
					cl.empty++
					cl.emptyMs = append(cl.emptyMs, r.ms)
					if r.ok {
						cl.wrong++
					}
					continue
				}
				cl.codes++
				cl.codeMs = append(cl.codeMs, r.ms)
				switch {
				case r.ok && r.text == f.e.Shot.Text:
					cl.read++
				case r.ok:
					cl.wrong++
				}
			}
		}
	}
	fmt.Fprintf(w, "### Camera corpus (scanner/testdata/camera-corpus.tsv, %d frames): codes read per condition (false reads in brackets)\n\n| condition | codes |", len(frames))
	for _, nm := range names {
		fmt.Fprintf(w, " %s |", nm)
	}
	fmt.Fprintf(w, "\n|---|---:|%s\n", strings.Repeat("---:|", len(names)))
	for _, c := range conds {
		fmt.Fprintf(w, "| %s | %d |", c, cells[names[0]][c].codes)
		for _, nm := range names {
			cl := cells[nm][c]
			fmt.Fprintf(w, " %d", cl.read)
			if cl.wrong > 0 {
				fmt.Fprintf(w, " (%d)", cl.wrong)
			}
			fmt.Fprint(w, " |")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n### Camera corpus: median process CPU time per frame, ms (mean of %d decodes of each frame), frames with a code / without\n\n| condition |", n)
	for _, nm := range names {
		fmt.Fprintf(w, " %s |", nm)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---:|", len(names)))
	for _, c := range conds {
		fmt.Fprintf(w, "| %s |", c)
		for _, nm := range names {
			cl := cells[nm][c]
			fmt.Fprintf(w, " %s / %s |", msCell(cl.codeMs), msCell(cl.emptyMs))
		}
		fmt.Fprintln(w)
	}
	// Where kioskd loses: fewer reads than a peer, or slower than
	// zxing-cpp (issue 16's goals).
	fmt.Fprintln(w)
	ours := cells["kioskd"]
	for _, c := range conds {
		var why []string
		for _, nm := range names[1:] {
			if p := cells[nm][c]; p.read > ours[c].read {
				why = append(why, fmt.Sprintf("%s reads %d to our %d", nm, p.read, ours[c].read))
			}
		}
		if z, ok := cells["zxing-cpp"]; ok {
			if a, b := medianMs(ours[c].codeMs), medianMs(z[c].codeMs); a > b {
				why = append(why, fmt.Sprintf("median %.2f ms to zxing-cpp's %.2f", a, b))
			}
			if a, b := medianMs(ours[c].emptyMs), medianMs(z[c].emptyMs); len(ours[c].emptyMs) > 0 && a > b {
				why = append(why, fmt.Sprintf("no code %.2f ms to zxing-cpp's %.2f", a, b))
			}
		}
		if ours[c].wrong > 0 {
			why = append(why, fmt.Sprintf("%d false reads", ours[c].wrong))
		}
		if len(why) > 0 {
			fmt.Fprintf(w, "- kioskd loses on %s: %s\n", c, strings.Join(why, "; "))
		}
	}
}
