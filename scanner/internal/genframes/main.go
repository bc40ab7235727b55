// Command genframes writes the demo frames: 640×480 grey PNGs of the demo
// codes (see scanner/demoframes) as a camera at a kiosk would see them,
// with the code off centre, slightly tilted, blurred and noisy.
//
//	go run ./scanner/internal/genframes -out scanner/demoframes/frames -out scanner/testdata/demo
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/kioskd/kioskd/scanner/demoframes"
	"github.com/kioskd/kioskd/scanner/internal/synth"
)

type outs []string

func (o *outs) String() string     { return strings.Join(*o, ",") }
func (o *outs) Set(s string) error { *o = append(*o, s); return nil }

func main() {
	var dirs outs
	flag.Var(&dirs, "out", "directory to write to (repeatable)")
	flag.Parse()
	if len(dirs) == 0 {
		log.Fatal("genframes: give at least one -out directory")
	}
	scenes := map[string]synth.Scene{
		"01-code-a.png":           {Text: demoframes.CodeA, Size: 230, CX: 290, CY: 250, Rotate: 4, Tilt: 0.05, Blur: 1, Noise: 3, Seed: 1},
		"02-code-a-again.png":     {Text: demoframes.CodeA, Size: 235, CX: 300, CY: 255, Rotate: 6, Tilt: 0.06, Blur: 1, Noise: 3, Seed: 2},
		"03-no-qr.png":            {Blur: 1, Noise: 3, Gradient: 40, Seed: 3},
		"04-code-b-unknown.png":   {Text: demoframes.CodeB, Size: 210, CX: 360, CY: 230, Rotate: -8, Tilt: 0.08, Blur: 1, Noise: 3, Seed: 4},
		"05-url-not-a-code.png":   {Text: demoframes.URL, Size: 200, CX: 330, CY: 260, Rotate: 3, Blur: 1, Noise: 3, Seed: 5},
		"06-dark-mode-code-c.png": {Text: demoframes.CodeC, Size: 220, CX: 310, CY: 240, Rotate: -3, Invert: true, Dark: 25, Light: 215, Blur: 1, Noise: 3, Seed: 6},
	}
	for _, f := range demoframes.List() {
		s, ok := scenes[f.Name]
		if !ok {
			log.Fatalf("genframes: no scene for %s", f.Name)
		}
		s.W, s.H = 640, 480
		img, err := synth.Render(s)
		if err != nil {
			log.Fatal(err)
		}
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
			log.Fatal(err)
		}
		for _, d := range dirs {
			if err := os.WriteFile(filepath.Join(d, f.Name), buf.Bytes(), 0o644); err != nil {
				log.Fatal(err)
			}
		}
	}
	valid, unknown, dark := demoframes.Codes()
	codes := fmt.Sprintf("# Demo codes (safe to publish). A and C are valid (the demo server holds them), B is unknown.\nA %s\nB %s\nC %s\n", valid, unknown, dark)
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "codes.txt"), []byte(codes), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
