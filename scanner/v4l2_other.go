//go:build !linux

package scanner

import (
	"errors"
)

var errNoV4L2 = errors.New("scanner: V4L2 cameras need Linux")

func newV4L2(cfg Camera, o SourceOptions) (Source, error) { return nil, errNoV4L2 }

// ListCameras needs Linux.
func ListCameras() ([]CameraInfo, error) { return nil, errNoV4L2 }
