package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/scanner"
)

// TestCameraListPrintsControls: `kioskd camera list` shows each control
// under the name camera.controls takes, with its range, default and current
// value, so an installer can trade exposure against noise.
func TestCameraListPrintsControls(t *testing.T) {
	var b bytes.Buffer
	writeCameras(&b, []scanner.CameraInfo{{
		Path: "/dev/video0", Name: "USB Camera", Bus: "usb-0000:01:00.0-1.3",
		Formats: []scanner.FormatInfo{{FourCC: "YUYV", Description: "YUYV 4:2:2", Sizes: []scanner.SizeInfo{{Size: "640x480", Rates: []string{"1/30"}}}}},
		Controls: []scanner.ControlInfo{
			{Name: "auto_exposure", ID: 0x009a0901, Label: "Auto Exposure", Type: "menu", Min: 0, Max: 3, Step: 1, Default: 3, HasDefault: true, Current: 1, HasCurrent: true},
			{Name: "exposure_time_absolute", ID: 0x009a0902, Label: "Exposure Time, Absolute", Type: "int", Min: 3, Max: 2047, Step: 1, Default: 250, HasDefault: true, Current: 120, HasCurrent: true, Inactive: true},
			{Name: "gain", ID: 0x00980913, Label: "Gain", Type: "int", Max: 100, Step: 1, Err: "input/output error"},
		},
	}})
	out := b.String()
	for _, w := range []string{
		"/dev/video0\tUSB Camera\tusb-0000:01:00.0-1.3",
		"\t\t640x480 @ 1/30",
		"controls (set them in camera.controls by name):",
		"auto_exposure                    menu min 0 max 3 step 1 default 3 current 1  [0x009a0901 \"Auto Exposure\"]",
		"exposure_time_absolute           int  min 3 max 2047 step 1 default 250 current 120 (inactive: an automatic mode owns it)",
		"gain                             int  min 0 max 100 step 1 default ? current ? (input/output error)",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("camera list lacks %q:\n%s", w, out)
		}
	}
}

// TestCameraControlsConfig: a bad camera.controls key is refused with exit
// 2 and a message naming it; good ones are taken (a replay source ignores
// them, so the snapshot works).
func TestCameraControlsConfig(t *testing.T) {
	e := newEnv(t, "")
	writeDemoFrames(t, filepath.Join(e.dir, "frames"), []string{"03-no-qr.png"})
	cfg, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	write := func(controls string) {
		s := strings.Replace(string(cfg), "  rearm: 200ms\n", "  rearm: 200ms\n  controls:\n"+controls, 1)
		if err := os.WriteFile(e.cfg, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("    \"Exposure Time, Absolute\": 150\n")
	_, errOut, code := e.kioskd("camera", "snapshot", "-config", e.cfg, "-o", filepath.Join(e.dir, "s.png"))
	if code != exitError || !strings.Contains(errOut, "camera.controls") || strings.Contains(errOut, "panic") {
		t.Errorf("bad control name: exit %d, %q; want 2 naming camera.controls", code, errOut)
	}
	write("    auto_exposure: 1\n    exposure_time_absolute: 150\n    gain: 0\n")
	out, errOut, code := e.kioskd("camera", "snapshot", "-config", e.cfg, "-o", filepath.Join(e.dir, "s.png"))
	if code != exitOK {
		t.Errorf("good controls: exit %d, %q %q", code, out, errOut)
	}
}
