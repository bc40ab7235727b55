//go:build linux

package scanner

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"
)

// Control ids of a typical UVC webcam (videodev2.h, v4l2-controls.h).
const (
	cidBrightness  webcam.ControlID = 0x00980900
	cidGain        webcam.ControlID = 0x00980913
	cidAutoExp     webcam.ControlID = 0x009a0901
	cidExposureAbs webcam.ControlID = 0x009a0902
	cidFocusAbs    webcam.ControlID = 0x009a090a
	cidFocusAuto   webcam.ControlID = 0x009a090c
)

// fakeCam is a UVC camera's control set as webcam v0.6.1 returns it, with
// the drivers' habit: a manual exposure or focus is refused (EACCES) while
// its automatic mode is on.
type fakeCam struct {
	ctrls map[webcam.ControlID]webcam.Control
	vals  map[webcam.ControlID]int32
	sets  []webcam.ControlID
}

func newFakeCam() *fakeCam {
	return &fakeCam{
		ctrls: map[webcam.ControlID]webcam.Control{
			cidBrightness:  {Name: "Brightness", Min: -64, Max: 64, Type: 0, Step: 1},
			cidGain:        {Name: "Gain", Min: 0, Max: 100, Type: 0, Step: 1},
			cidAutoExp:     {Name: "Auto Exposure", Min: 0, Max: 3, Type: 2, Step: 1},
			cidExposureAbs: {Name: "Exposure Time, Absolute", Min: 3, Max: 2047, Type: 0, Step: 1},
			cidFocusAbs:    {Name: "Focus, Absolute", Min: 0, Max: 250, Type: 0, Step: 5},
			cidFocusAuto:   {Name: "Focus, Automatic Continuous", Min: 0, Max: 1, Type: 1, Step: 1},
		},
		vals: map[webcam.ControlID]int32{cidBrightness: 0, cidGain: 0, cidAutoExp: 3, cidExposureAbs: 250, cidFocusAbs: 0, cidFocusAuto: 1},
	}
}

func (f *fakeCam) GetControls() map[webcam.ControlID]webcam.Control { return f.ctrls }

func (f *fakeCam) GetControl(id webcam.ControlID) (int32, error) {
	v, ok := f.vals[id]
	if !ok {
		return 0, unix.EINVAL
	}
	return v, nil
}

func (f *fakeCam) SetControl(id webcam.ControlID, v int32) error {
	f.sets = append(f.sets, id)
	if _, ok := f.ctrls[id]; !ok {
		return unix.EINVAL
	}
	if id == cidExposureAbs && f.vals[cidAutoExp] != 1 || id == cidFocusAbs && f.vals[cidFocusAuto] != 0 {
		return unix.EACCES
	}
	if id == cidFocusAbs {
		v -= v % 5 // the driver rounds to its step
	}
	f.vals[id] = v
	return nil
}

func TestControlName(t *testing.T) {
	for _, tc := range []struct{ label, want string }{
		{"Exposure Time, Absolute", "exposure_time_absolute"},
		{"Auto Exposure", "auto_exposure"},
		{"Exposure, Auto", "exposure_auto"},
		{"Exposure (Absolute)", "exposure_absolute"},
		{"Focus, Automatic Continuous", "focus_automatic_continuous"},
		{"White Balance Temperature, Auto", "white_balance_temperature_auto"},
		{"  Gain ", "gain"},
		{"Power Line Frequency", "power_line_frequency"},
	} {
		if got := controlName(tc.label); got != tc.want {
			t.Errorf("controlName(%q) = %q, want %q", tc.label, got, tc.want)
		}
	}
}

// TestApplyControls sets a venue's controls on a fake camera: automatic
// modes first (else the manual exposure and focus are refused), by name or
// hex id; a control the camera lacks and a value out of its range are
// warnings, not failures, and the rest still get set.
func TestApplyControls(t *testing.T) {
	cam := newFakeCam()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	want := map[string]int64{
		"exposure_time_absolute":     120,
		"auto_exposure":              1,
		"focus_absolute":             42,
		"focus_automatic_continuous": 0,
		"gain":                       300, // past the camera's 100
		"zoom_absolute":              2,   // this camera has no zoom
		"0x00980900":                 -10, // brightness by id
		"0x00ffffff":                 1,   // no such id
	}
	set, asked := applyControls(cam, want, "/dev/video0", log)
	if set != 5 || asked != len(want) {
		t.Errorf("%d of %d set, want 5 of %d", set, asked, len(want))
	}
	for id, v := range map[webcam.ControlID]int32{cidAutoExp: 1, cidExposureAbs: 120, cidFocusAuto: 0, cidFocusAbs: 40, cidBrightness: -10, cidGain: 0} {
		if cam.vals[id] != v {
			t.Errorf("control %#x = %d, want %d", id, cam.vals[id], v)
		}
	}
	if slices.Contains(cam.sets, cidGain) {
		t.Errorf("an out-of-range gain was sent to the driver")
	}
	out := logs.String()
	for _, w := range []string{
		"control=zoom_absolute", "not on this camera", "control=0x00ffffff",
		"control=gain", "out of the camera's range", "max=100",
		"control=focus_absolute asked=42 got=40",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "level=ERROR") {
		t.Errorf("a camera control problem logged as an error:\n%s", out)
	}
}

// The order matters: set in name order, the manual exposure comes before
// auto_exposure and is refused; a hint then tells the installer why.
func TestApplyControlsRefusedHint(t *testing.T) {
	cam := newFakeCam()
	var logs bytes.Buffer
	set, _ := applyControls(cam, map[string]int64{"exposure_time_absolute": 100}, "/dev/video0", slog.New(slog.NewTextHandler(&logs, nil)))
	if set != 0 || !strings.Contains(logs.String(), "set that mode to manual") {
		t.Errorf("manual exposure with auto on: %d set, log %s", set, logs.String())
	}
}

func TestDescribeControls(t *testing.T) {
	cam := newFakeCam()
	query := func(id uint32) (int32, uint32, error) {
		if webcam.ControlID(id) == cidExposureAbs {
			return 250, ctrlFlagInactive, nil
		}
		if webcam.ControlID(id) == cidFocusAbs {
			return 0, 0, unix.EINVAL
		}
		return 7, 0, nil
	}
	got := describeControls(cam, query)
	if len(got) != len(cam.ctrls) {
		t.Fatalf("%d controls, want %d", len(got), len(cam.ctrls))
	}
	byName := map[string]ControlInfo{}
	for _, c := range got {
		byName[c.Name] = c
	}
	exp := byName["exposure_time_absolute"]
	if exp.ID != uint32(cidExposureAbs) || exp.Min != 3 || exp.Max != 2047 || !exp.HasDefault || exp.Default != 250 ||
		!exp.HasCurrent || exp.Current != 250 || !exp.Inactive || exp.Type != "int" || exp.Label != "Exposure Time, Absolute" {
		t.Errorf("exposure: %+v", exp)
	}
	if f := byName["focus_absolute"]; f.HasDefault {
		t.Errorf("focus: a default that could not be read is shown: %+v", f)
	}
	if a := byName["auto_exposure"]; a.Type != "menu" || a.Current != 3 || a.Inactive {
		t.Errorf("auto_exposure: %+v", a)
	}
	if fmt.Sprint(vidiocQueryCtrl) != fmt.Sprint(uintptr(0xc0445624)) {
		t.Errorf("VIDIOC_QUERYCTRL = %#x, want 0xc0445624 (videodev2.h)", vidiocQueryCtrl)
	}
}
