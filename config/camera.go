package config

import (
	"strings"
	"time"
)

// Camera is the frame source.
type Camera struct {
	// Source is a V4L2 device (/dev/video0), or dir:PATH / file:PATH to replay images.
	Source string `yaml:"source"`
	Width  int    `yaml:"width"`
	Height int    `yaml:"height"`
	FPS    int    `yaml:"fps"`
	// Format is auto, GREY, YUYV or MJPEG.
	Format string `yaml:"format"`
	// Buffers is the V4L2 buffer count: small, so the newest frame is what gets decoded.
	Buffers int `yaml:"buffers"`
	// Rearm is how long a code must be out of view before it is verified again.
	Rearm time.Duration `yaml:"rearm"`
	// Loop makes a replay source start over at the end (dir:/file: only).
	Loop bool `yaml:"loop"`
	// Controls are V4L2 controls (exposure, gain, focus...) set each time
	// the camera is opened, by name or hex id; a replay source ignores them.
	Controls map[string]int `yaml:"controls"`
}

func defaultCamera() Camera {
	return Camera{Source: "/dev/video0", Width: 640, Height: 480, FPS: 15, Format: "auto", Buffers: 2, Rearm: 2 * time.Second}
}

func (c *Camera) validate() error {
	if c.Source == "" {
		return keyErr("camera.source", "must not be empty")
	}
	if !strings.HasPrefix(c.Source, "/dev/") && !strings.HasPrefix(c.Source, "dir:") && !strings.HasPrefix(c.Source, "file:") {
		return keyErr("camera.source", "must be a /dev/ device, dir:PATH or file:PATH, not %q", c.Source)
	}
	if c.Width < 16 || c.Width > 8192 {
		return keyErr("camera.width", "must be between 16 and 8192, not %d", c.Width)
	}
	if c.Height < 16 || c.Height > 8192 {
		return keyErr("camera.height", "must be between 16 and 8192, not %d", c.Height)
	}
	if c.FPS < 1 || c.FPS > 240 {
		return keyErr("camera.fps", "must be between 1 and 240, not %d", c.FPS)
	}
	switch c.Format {
	case "auto", "GREY", "YUYV", "MJPEG":
	default:
		return keyErr("camera.format", "must be auto, GREY, YUYV or MJPEG, not %q", c.Format)
	}
	if c.Buffers < 1 || c.Buffers > 32 {
		return keyErr("camera.buffers", "must be between 1 and 32, not %d", c.Buffers)
	}
	if c.Rearm < 0 {
		return keyErr("camera.rearm", "must not be negative")
	}
	if err := validateControls(c.Controls); err != nil {
		return err
	}
	return nil
}
