package scanner

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"time"
)

// CameraInfo describes a V4L2 device for installers (`kioskd camera list`).
type CameraInfo struct {
	Path    string
	Name    string
	Bus     string
	Formats []FormatInfo
	// Controls are the camera's V4L2 controls, settable in camera.controls.
	Controls []ControlInfo
	// Err says why the device could not be described (e.g. it is a
	// metadata node, or busy); the other fields are then partial.
	Err string
}

// ControlInfo is one V4L2 control (exposure, gain, focus...) of a camera.
type ControlInfo struct {
	Name  string // as camera.controls takes it, e.g. exposure_time_absolute
	ID    uint32
	Label string // the driver's name, e.g. "Exposure Time, Absolute"
	Type  string // int, bool or menu
	Min   int32
	Max   int32
	Step  int32
	// Default is the driver's default, when it could be read.
	Default    int32
	HasDefault bool
	// Current is the value now, when it could be read (else Err says why).
	Current    int32
	HasCurrent bool
	Err        string
	// Inactive: the driver ignores the control now, typically a manual
	// exposure or focus while the automatic mode is on.
	Inactive bool
}

// FormatInfo is one pixel format with its sizes.
type FormatInfo struct {
	FourCC      string
	Description string
	Sizes       []SizeInfo
}

// SizeInfo is a frame size with the frame rates the camera offers at it.
// Size is "640x480", or a range "[160-1280;16]x[120-720;8]".
type SizeInfo struct {
	Size  string
	Rates []string // frame intervals, e.g. "1/30"
}

// errSnapshotDone ends the source after the snapshot frame.
var errSnapshotDone = errors.New("snapshot taken")

// snapshotSkip is how many frames Snapshot lets pass first, so that the
// camera's automatic exposure has settled.
const snapshotSkip = 10

// Snapshot writes a PNG of what the camera (or replay source) described by
// cfg sees, so an installer can aim and focus it. It waits for the camera to
// settle for a few frames, and gives up when ctx ends: a camera that is
// away is retried until then, so pass a ctx with a deadline (SnapshotTimeout).
func Snapshot(ctx context.Context, cfg Camera, w io.Writer) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var last State
	src, err := Open(cfg, SourceOptions{OnState: func(s State) { last = s }})
	if err != nil {
		return err
	}
	var img *image.Gray
	n := 0
	runErr := src.Run(ctx, func(f Frame) {
		if img != nil {
			return
		}
		n++
		if !isReplay(cfg) && n <= snapshotSkip {
			return
		}
		img = image.NewGray(image.Rect(0, 0, f.Width, f.Height))
		for y := 0; y < f.Height; y++ {
			copy(img.Pix[y*img.Stride:], f.Y[y*f.Stride:y*f.Stride+f.Width])
		}
		cancel(errSnapshotDone)
	})
	if img == nil {
		if runErr != nil {
			return fmt.Errorf("scanner: snapshot of %s: %w", cfg.Source, runErr)
		}
		if last.Err != nil {
			return fmt.Errorf("scanner: snapshot of %s: %w", cfg.Source, last.Err)
		}
		return fmt.Errorf("scanner: snapshot of %s: no frame: %w", cfg.Source, context.Cause(ctx))
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("scanner: writing snapshot PNG: %w", err)
	}
	return nil
}

func isReplay(cfg Camera) bool {
	return len(cfg.Source) > 0 && cfg.Source[0] != '/'
}

// SnapshotTimeout is a sensible bound for Snapshot: time to open the
// camera, let exposure settle and take a frame.
const SnapshotTimeout = 10 * time.Second
