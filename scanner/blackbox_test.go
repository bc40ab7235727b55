package scanner

import (
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// blackboxMin is the decode rate on testdata/qr-blackbox this decoder
// reached when it was written; it must not drop. (Peers on the same 116
// images: zbar 97, zxing-cpp 110, plain gozxing 105.)
const blackboxMin = 113

type blackboxCase struct {
	set, name, img, want string
}

func blackboxCases(t testing.TB) []blackboxCase {
	t.Helper()
	var cases []blackboxCase
	sets, _ := filepath.Glob("testdata/qr-blackbox/qrcode-*")
	for _, dir := range sets {
		txts, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
		for _, txt := range txts {
			base := strings.TrimSuffix(txt, ".txt")
			if strings.HasSuffix(base, ".metadata") {
				continue
			}
			var img string
			for _, ext := range []string{".png", ".jpg", ".gif"} {
				if _, err := os.Stat(base + ext); err == nil {
					img = base + ext
				}
			}
			if img == "" {
				continue
			}
			want, err := os.ReadFile(txt)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, blackboxCase{filepath.Base(dir), filepath.Base(base), img, collapse(string(want))})
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].img < cases[j].img })
	return cases
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func loadImage(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestBlackboxRate(t *testing.T) {
	if raceEnabled {
		// Pure computation with no goroutines: nothing for the race
		// detector to find, and 30 s under it. Runs in plain `go test`.
		t.Skip("decode-rate regression runs without -race")
	}
	cases := blackboxCases(t)
	if len(cases) != 116 {
		t.Fatalf("found %d black-box images, want 116", len(cases))
	}
	for _, mode := range []struct {
		name string
		o    DecoderOptions
	}{{"default", DecoderOptions{}}, {"plain", DecoderOptions{Plain: true}}, {"exhaustive", DecoderOptions{Exhaustive: true}}} {
		if mode.name != "default" && (raceEnabled || testing.Short()) {
			continue // comparisons only; slow under the race detector
		}
		d := NewDecoder(mode.o)
		ok, perSet := 0, map[string]int{}
		for _, c := range cases {
			got, found := DecodeImage(d, loadImage(t, c.img))
			if found && collapse(got) == c.want {
				ok++
				perSet[c.set]++
			} else if mode.name == "default" {
				t.Logf("miss %s/%s found=%v", c.set, c.name, found)
			}
		}
		t.Logf("%s: %d/%d %v stats %+v", mode.name, ok, len(cases), perSet, d.Stats())
		if mode.name == "default" && ok < blackboxMin {
			t.Errorf("decoded %d of %d black-box images, want at least %d", ok, len(cases), blackboxMin)
		}
	}
}
