package main

import (
	"strings"
	"testing"

	"github.com/kioskd/kioskd/scanner/internal/synth"
)

// TestPrintCamera: the report counts a read only for the expected text,
// a wrong text or any text from an empty frame as a false read, and takes
// medians per condition and in all.
func TestPrintCamera(t *testing.T) {
	shot := func(text string) synth.Shot { return synth.Shot{Text: text} }
	frames := []cameraFrame{
		{e: synth.Entry{Condition: synth.Webcam, Shot: shot("a")}},
		{e: synth.Entry{Condition: synth.Webcam, Shot: shot("b")}},
		{e: synth.Entry{Condition: synth.Webcam, Shot: shot("")}},
		{e: synth.Entry{Condition: synth.Motion, Shot: synth.Shot{Text: "c", Invert: true}}},
		{e: synth.Entry{Condition: synth.Motion, Shot: shot("")}},
	}
	results := map[string][]cameraResult{
		"kioskd":    {{"a", true, 1}, {"x", true, 3}, {"", false, 10}, {"", false, 5}, {"", false, 20}},
		"zxing-cpp": {{"a", true, 1}, {"b", true, 1}, {"noise", true, 2}, {"c", true, 1}, {"", false, 2}},
	}
	var b strings.Builder
	printCamera(&b, frames, []string{"kioskd", "zxing-cpp"}, results, 1)
	out := b.String()
	for _, want := range []string{
		"| webcam | 2 | 1 (1) | 2 (1) |",
		"| motion | 1 | 0 | 1 |",
		"| all | 3 | 1 (1) | 3 (1) |",
		"| webcam | 2.00 / 10.00 | 1.00 / 2.00 |",
		"| all | 3.00 / 15.00 | 1.00 / 2.00 |",
		"- kioskd loses on motion: zxing-cpp reads 1 to our 0; median 5.00 ms to zxing-cpp's 1.00; no code 20.00 ms to zxing-cpp's 2.00",
		"- kioskd loses on webcam: zxing-cpp reads 2 to our 1",
		"| dark mode | 1 | 0 | 1 |",
		"| dark mode | 5.00 / – | 1.00 / – |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	frames[1].e.File, frames[3].e.File = "b.pgm", "c.pgm"
	listMisses(&b, frames, []string{"kioskd", "zxing-cpp"}, results)
	if out := b.String(); !strings.Contains(out, "- b.pgm (zxing-cpp): ") || !strings.Contains(out, "- c.pgm (zxing-cpp): ") || strings.Count(out, "\n- ") != 2 {
		t.Errorf("misses listed:\n%s", out)
	}
}
