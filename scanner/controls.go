//go:build linux

package scanner

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"
)

// controlSet is the part of *webcam.Webcam that reads and sets V4L2
// controls; tests stand in a fake camera's set.
type controlSet interface {
	GetControls() map[webcam.ControlID]webcam.Control
	GetControl(id webcam.ControlID) (int32, error)
	SetControl(id webcam.ControlID, value int32) error
}

// devControl is one control the device offers.
type devControl struct {
	id   webcam.ControlID
	name string // as camera.controls takes it
	c    webcam.Control
}

// controlName turns a driver's control name into the one camera.controls
// takes, the way v4l2-ctl prints it: "Exposure Time, Absolute" becomes
// exposure_time_absolute, so an installer can use either tool's listing.
func controlName(label string) string {
	var b strings.Builder
	gap := false
	for _, r := range label {
		isAlnum := r < 128 && (r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		if !isAlnum {
			gap = b.Len() > 0
			continue
		}
		if gap {
			b.WriteByte('_')
			gap = false
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// deviceControls lists the device's controls in id order.
func deviceControls(cam controlSet) []devControl {
	m := cam.GetControls()
	out := make([]devControl, 0, len(m))
	for id, c := range m {
		out = append(out, devControl{id: id, name: controlName(c.Name), c: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// findControl resolves a camera.controls key (a name or a hex id).
func findControl(ctrls []devControl, key string) (devControl, bool) {
	if hex, ok := strings.CutPrefix(key, "0x"); ok {
		id, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return devControl{}, false
		}
		for _, c := range ctrls {
			if uint64(c.id) == id {
				return c, true
			}
		}
		return devControl{}, false
	}
	for _, c := range ctrls {
		if c.name == key {
			return c, true
		}
	}
	return devControl{}, false
}

// applyControls sets the configured controls on an open camera and says
// how many took. Nothing here is fatal: a control the camera lacks, a value
// outside its range or one the driver refuses is a warning, and the camera
// runs with what it has. Automatic modes are set first, because drivers
// refuse a manual exposure or focus while the automatic one is on.
func applyControls(cam controlSet, want map[string]int64, source string, log *slog.Logger) (set, asked int) {
	if len(want) == 0 {
		return 0, 0
	}
	ctrls := deviceControls(cam)
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	isAuto := func(k string) bool {
		c, ok := findControl(ctrls, k)
		return ok && strings.Contains(c.name, "auto")
	}
	sort.Slice(keys, func(i, j int) bool {
		if ai, aj := isAuto(keys[i]), isAuto(keys[j]); ai != aj {
			return ai
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		v := want[k]
		c, ok := findControl(ctrls, k)
		if !ok {
			names := make([]string, len(ctrls))
			for i, c := range ctrls {
				names[i] = c.name
			}
			log.Warn("camera control not on this camera, skipped (kioskd camera list shows its controls)",
				"source", source, "control", k, "camera_has", strings.Join(names, " "))
			continue
		}
		if int64(v) < int64(c.c.Min) || int64(v) > int64(c.c.Max) {
			log.Warn("camera control value out of the camera's range, skipped",
				"source", source, "control", k, "value", v, "min", c.c.Min, "max", c.c.Max)
			continue
		}
		if err := cam.SetControl(c.id, int32(v)); err != nil {
			hint := ""
			if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				hint = " (an automatic mode may own it: set that mode to manual in camera.controls too)"
			}
			log.Warn("camera control not set"+hint, "source", source, "control", k, "value", v, "err", err)
			continue
		}
		if got, err := cam.GetControl(c.id); err == nil && int64(got) != v {
			// Some drivers round to the step or clamp silently.
			log.Warn("camera control set, but the camera kept another value",
				"source", source, "control", k, "asked", v, "got", got)
		}
		set++
	}
	log.Info("camera controls applied", "source", source, "set", set, "asked", len(want))
	return set, len(want)
}

// describeControls lists a camera's controls for `kioskd camera list`.
// query, if not nil, adds what webcam v0.6.1 does not return: the default
// value and whether the control is inactive right now.
func describeControls(cam controlSet, query func(id uint32) (def int32, flags uint32, err error)) []ControlInfo {
	var out []ControlInfo
	for _, c := range deviceControls(cam) {
		ci := ControlInfo{Name: c.name, ID: uint32(c.id), Label: c.c.Name, Type: controlType(c.c.Type),
			Min: c.c.Min, Max: c.c.Max, Step: c.c.Step}
		if cur, err := cam.GetControl(c.id); err == nil {
			ci.Current, ci.HasCurrent = cur, true
		} else {
			ci.Err = err.Error()
		}
		if query != nil {
			if def, flags, err := query(uint32(c.id)); err == nil {
				ci.Default, ci.HasDefault = def, true
				ci.Inactive = flags&ctrlFlagInactive != 0
			}
		}
		out = append(out, ci)
	}
	return out
}

// controlType names webcam v0.6.1's control types (its unexported
// controlType: integer, boolean, menu).
func controlType(t int32) string {
	switch t {
	case 0:
		return "int"
	case 1:
		return "bool"
	case 2:
		return "menu"
	}
	return fmt.Sprintf("type %d", t)
}

// v4l2QueryCtrl is struct v4l2_queryctrl (videodev2.h): 68 bytes on every
// architecture.
type v4l2QueryCtrl struct {
	ID       uint32
	Type     uint32
	Name     [32]byte
	Min      int32
	Max      int32
	Step     int32
	Default  int32
	Flags    uint32
	Reserved [2]uint32
}

const (
	// vidiocQueryCtrl is _IOWR('V', 36, struct v4l2_queryctrl) with the
	// generic ioctl encoding (x86, arm, arm64, riscv).
	vidiocQueryCtrl  = 3<<30 | uintptr(unsafe.Sizeof(v4l2QueryCtrl{}))<<16 | 'V'<<8 | 36
	ctrlFlagInactive = 0x0010
)

// queryControl asks the driver for one control's default and flags on fd.
func queryControl(fd int, id uint32) (int32, uint32, error) {
	q := v4l2QueryCtrl{ID: id}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), vidiocQueryCtrl, uintptr(unsafe.Pointer(&q))); errno != 0 {
		return 0, 0, errno
	}
	return q.Default, q.Flags, nil
}
