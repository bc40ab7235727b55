package config

import (
	"math"
	"regexp"
	"sort"
	"strings"
)

// A camera.controls key is: a V4L2 control's name as
// `kioskd camera list` and v4l2-ctl print it (lower case words joined by
// "_", e.g. exposure_time_absolute), or its numeric id in hex (0x009a0902).
var (
	controlName = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)
	controlID   = regexp.MustCompile(`^0x[0-9a-fA-F]{1,8}$`)
)

// maxControls bounds camera.controls: a UVC camera has a few dozen.
const maxControls = 64

// validateControls checks what can be checked without the camera: key
// syntax and 32-bit values. Whether the camera has the control, and its
// range, are known only when the device is open: a control it lacks or a
// value out of its range is then a warning in the log, not a failure.
func validateControls(m map[string]int64) error {
	if len(m) > maxControls {
		return keyErr("camera.controls", "at most %d controls, not %d", maxControls, len(m))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same error for the same file
	for _, k := range keys {
		isID := strings.HasPrefix(k, "0x")
		if isID && !controlID.MatchString(k) || !isID && !controlName.MatchString(k) {
			return keyErr("camera.controls", "%q is not a control name as `kioskd camera list` prints it (e.g. exposure_time_absolute) or a hex id (0x009a0902)", k)
		}
		if v := m[k]; v < math.MinInt32 || v > math.MaxInt32 {
			return keyErr("camera.controls."+k, "must fit in 32 bits, not %d", v)
		}
	}
	return nil
}
