package synth

import (
	"bytes"
	"strings"
	"testing"
)

func TestManifestRoundTrip(t *testing.T) {
	entries, err := Corpus(5, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5*len(Conditions()) {
		t.Fatalf("%d entries, want %d", len(entries), 5*len(Conditions()))
	}
	var buf bytes.Buffer
	if err := WriteManifest(&buf, "a note\non two lines", entries); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) {
		t.Fatalf("read %d entries, wrote %d", len(got), len(entries))
	}
	for i := range got {
		if got[i] != entries[i] {
			t.Fatalf("entry %d: read %+v, wrote %+v", i, got[i], entries[i])
		}
	}
	if entries[3].Shot.Text != "" || entries[2].Shot.Text == "" {
		t.Fatal("want 3 frames with a code, then 2 without")
	}
}

func TestManifestErrors(t *testing.T) {
	s, _ := Draw(Webcam, 1, false)
	good := "webcam-code-1.pgm\twebcam\t1\t" + s.Params() + "\t" + s.Text
	if _, err := ReadManifest(strings.NewReader(good)); err != nil {
		t.Fatalf("the good row: %v", err)
	}
	tests := []struct{ name, row, want string }{
		{"columns", "webcam-code-1.pgm\twebcam\t1", "columns"},
		{"condition", strings.Replace(good, "\twebcam\t", "\tfog\t", 1), "unknown condition"},
		{"seed", strings.Replace(good, "\t1\t", "\t-1\t", 1), "seed"},
		{"file name", strings.Replace(good, "code-1.pgm", "code-2.pgm", 1), "want \"webcam-code-1.pgm\""},
		{"no-code name", strings.TrimSuffix(good, s.Text), "want \"webcam-nocode-1.pgm\""},
		{"unknown key", strings.Replace(good, "jpeg=0", "jpeg=0 fog=1", 1), "unknown parameter \"fog\""},
		{"missing key", strings.Replace(good, " jpeg=0", "", 1), "jpeg missing"},
		{"twice", strings.Replace(good, "jpeg=0", "jpeg=0 jpeg=0", 1), "twice"},
		{"not a number", strings.Replace(good, "jpeg=0", "jpeg=x", 1), "parameter jpeg"},
		{"not finite", strings.Replace(good, "skew=0", "skew=NaN", 1), "not finite"},
		{"range", strings.Replace(good, "jpeg=0", "jpeg=101", 1), "out of range"},
		{"size", strings.Replace(good, "w=640", "w=9", 1), "bad frame size"},
		{"duplicate", good + "\n" + good, "listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadManifest(strings.NewReader("# comment\n" + tc.row + "\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func FuzzReadManifest(f *testing.F) {
	entries, _ := Corpus(1, 1, 1)
	var buf bytes.Buffer
	_ = WriteManifest(&buf, "seed corpus", entries[:4])
	f.Add(buf.String())
	f.Add("x\tmotion\t1\tw=1\t")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadManifest(strings.NewReader(in))
		if err != nil {
			return
		}
		// What reads must write and read back the same.
		var out bytes.Buffer
		if err := WriteManifest(&out, "", got); err != nil {
			t.Fatal(err)
		}
		again, err := ReadManifest(&out)
		if err != nil {
			t.Fatalf("rewritten manifest does not read: %v", err)
		}
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("entry %d changed on rewrite", i)
			}
		}
	})
}

func FuzzParseParams(f *testing.F) {
	s, _ := Draw(Moire, 3, false)
	f.Add(s.Params())
	f.Add("w=640 h=480")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseParams(in, "", 1)
		if err != nil {
			return
		}
		back, err := ParseParams(got.Params(), "", 1)
		if err != nil || back != got {
			t.Fatalf("%q parsed to %s, which does not parse back (%v)", in, got.Params(), err)
		}
	})
}
