//go:build !linux

package scanner

import (
	"errors"

	"github.com/kioskd/kioskd/config"
)

var errNoV4L2 = errors.New("scanner: V4L2 cameras need Linux")

func newV4L2(cfg config.Camera, o SourceOptions) (Source, error) { return nil, errNoV4L2 }

// ListCameras needs Linux.
func ListCameras() ([]CameraInfo, error) { return nil, errNoV4L2 }
