//go:build linux

package scanner

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"
)

// ListCameras describes every /dev/video* device: name, bus, and for each
// pixel format its sizes and frame rates. Devices that cannot be opened are
// listed with Err set.
func ListCameras() ([]CameraInfo, error) {
	paths, err := filepath.Glob("/dev/video*")
	if err != nil {
		return nil, fmt.Errorf("scanner: listing cameras: %w", err)
	}
	sort.Strings(paths)
	out := make([]CameraInfo, 0, len(paths))
	for _, p := range paths {
		out = append(out, describeCamera(p))
	}
	return out, nil
}

func describeCamera(path string) CameraInfo {
	info := CameraInfo{Path: path}
	cam, err := webcam.Open(path)
	if err != nil {
		info.Err = err.Error()
		return info
	}
	defer cam.Close()
	info.Name, _ = cam.GetName()
	info.Bus, _ = cam.GetBusInfo()
	formats := cam.GetSupportedFormats()
	codes := make([]webcam.PixelFormat, 0, len(formats))
	for f := range formats {
		codes = append(codes, f)
	}
	sort.Slice(codes, func(i, j int) bool { return codes[i] < codes[j] })
	for _, f := range codes {
		fi := FormatInfo{FourCC: fourCC(f).String(), Description: formats[f]}
		for _, s := range cam.GetSupportedFrameSizes(f) {
			si := SizeInfo{Size: s.GetString()}
			for _, r := range cam.GetSupportedFramerates(f, s.MaxWidth, s.MaxHeight) {
				si.Rates = append(si.Rates, r.String())
			}
			fi.Sizes = append(fi.Sizes, si)
		}
		info.Formats = append(info.Formats, fi)
	}
	// webcam v0.6.1 does not return a control's default or flags: ask the
	// driver on a descriptor of our own (V4L2 allows several opens).
	var query func(uint32) (int32, uint32, error)
	if fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
		defer unix.Close(fd)
		query = func(id uint32) (int32, uint32, error) { return queryControl(fd, id) }
	}
	info.Controls = describeControls(cam, query)
	return info
}
