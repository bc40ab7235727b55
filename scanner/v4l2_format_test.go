package scanner

import (
	"bytes"
	"testing"
)

func TestChooseFormat(t *testing.T) {
	tests := []struct {
		want    string
		offered []fourCC
		got     fourCC
		err     bool
	}{
		{"auto", []fourCC{fmtMJPEG, fmtYUYV}, fmtYUYV, false},
		{"auto", []fourCC{fmtMJPEG, fmtYUYV, fmtGREY}, fmtGREY, false},
		{"auto", []fourCC{fmtMJPEG}, fmtMJPEG, false},
		{"auto", []fourCC{fourcc("H264")}, 0, true},
		{"MJPEG", []fourCC{fmtMJPEG, fmtYUYV}, fmtMJPEG, false},
		{"GREY", []fourCC{fmtYUYV}, 0, true},
		{"NV12", []fourCC{fmtYUYV}, 0, true},
	}
	for _, tt := range tests {
		got, err := chooseFormat(tt.want, tt.offered)
		if (err != nil) != tt.err || got != tt.got {
			t.Errorf("chooseFormat(%q, %v) = %v, %v", tt.want, tt.offered, got, err)
		}
	}
	if s := fmtMJPEG.String() + fmtYUYV.String() + fourCC(1).String(); s != "MJPEGYUYV0x00000001" {
		t.Errorf("String: %q", s)
	}
}

func TestChooseSize(t *testing.T) {
	disc := func(w, h int) frameSize { return frameSize{minW: w, maxW: w, minH: h, maxH: h} }
	tests := []struct {
		name   string
		sizes  []frameSize
		w, h   int
		gw, gh int
	}{
		{"exact", []frameSize{disc(320, 240), disc(640, 480), disc(1280, 720)}, 640, 480, 640, 480},
		{"nearest", []frameSize{disc(320, 240), disc(800, 600), disc(1920, 1080)}, 640, 480, 800, 600},
		{"none listed", nil, 640, 480, 640, 480},
		{"stepwise", []frameSize{{minW: 160, maxW: 1280, stepW: 16, minH: 120, maxH: 720, stepH: 8}}, 650, 484, 640, 480},
		{"stepwise clamp", []frameSize{{minW: 160, maxW: 1280, stepW: 16, minH: 120, maxH: 720, stepH: 8}}, 1920, 1080, 1280, 720},
	}
	for _, tt := range tests {
		if gw, gh := chooseSize(tt.sizes, tt.w, tt.h); gw != tt.gw || gh != tt.gh {
			t.Errorf("%s: %dx%d, want %dx%d", tt.name, gw, gh, tt.gw, tt.gh)
		}
	}
}

func TestFrameLayout(t *testing.T) {
	sizes := []frameSize{{minW: 320, maxW: 320, minH: 240, maxH: 240}, {minW: 640, maxW: 640, minH: 480, maxH: 480}}
	tests := []struct {
		name             string
		f                fourCC
		n, w, h          int
		fw, fh, bpl, bpp int
		err              bool
	}{
		{"yuyv exact", fmtYUYV, 614400, 640, 480, 640, 480, 1280, 2, false},
		{"grey exact", fmtGREY, 307200, 640, 480, 640, 480, 640, 1, false},
		{"yuyv padded", fmtYUYV, 1344 * 480, 640, 480, 640, 480, 1344, 2, false},
		{"driver chose smaller", fmtYUYV, 320 * 240 * 2, 640, 480, 320, 240, 640, 2, false},
		{"short", fmtYUYV, 1000, 640, 480, 0, 0, 0, 0, true},
		{"mjpeg", fmtMJPEG, 1000, 640, 480, 0, 0, 0, 0, true},
	}
	for _, tt := range tests {
		fw, fh, bpl, bpp, err := frameLayout(tt.f, tt.n, tt.w, tt.h, sizes)
		if (err != nil) != tt.err || fw != tt.fw || fh != tt.fh || bpl != tt.bpl || bpp != tt.bpp {
			t.Errorf("%s: %d %d %d %d %v", tt.name, fw, fh, bpl, bpp, err)
		}
	}
}

func TestYUYVLuma(t *testing.T) {
	// 2×2 YUYV with 2 bytes of row padding: Y0 U Y1 V.
	src := []byte{10, 128, 20, 128, 0, 0, 30, 128, 40, 128, 0, 0}
	dst := make([]byte, 4)
	yuyvLuma(dst, src, 2, 2, 6)
	if !bytes.Equal(dst, []byte{10, 20, 30, 40}) {
		t.Fatalf("got %v", dst)
	}
	big := make([]byte, 640*480*2)
	out := make([]byte, 640*480)
	if n := testing.AllocsPerRun(10, func() { yuyvLuma(out, big, 640, 480, 1280) }); n != 0 {
		t.Errorf("yuyvLuma allocates %v times", n)
	}
}

func BenchmarkYUYVLuma640x480(b *testing.B) {
	src := make([]byte, 640*480*2)
	dst := make([]byte, 640*480)
	b.ReportAllocs()
	c0 := cpuTime()
	n := 0
	for b.Loop() {
		n++
		yuyvLuma(dst, src, 640, 480, 1280)
	}
	if c := cpuTime() - c0; c > 0 {
		b.ReportMetric(float64(c.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}
