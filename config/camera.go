package config

import (
	"strings"
	"time"
)

// Camera is the frame source.
type Camera struct {
	// Source is a V4L2 device (/dev/video0), or dir:PATH / file:PATH to replay
	// images, or none for a door that reads codes with scanners only
	// (inputs:): no camera is opened and none is missed.
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
	Controls map[string]int64 `yaml:"controls"`
	// MaxImagePixels caps width×height of an image file (replay) or an MJPEG
	// frame, read from its header before decoding: a few bytes of PNG or GIF
	// can claim 65535×65535, which decodes into gigabytes.
	MaxImagePixels int `yaml:"max_image_pixels"`
}

// DefaultMaxImagePixels is 16 MP (4096×4096): above any phone photo of a
// code or a camera frame kioskd reads, and at most 128 MB for the widest
// (16-bit RGBA) decoded image.
const DefaultMaxImagePixels = 4096 * 4096

// maxImagePixelsCeiling bounds the setting itself (1 GB as 16-bit RGBA), and
// keeps width×height within a 32-bit int on 32-bit Pi OS.
const maxImagePixelsCeiling = 1 << 27

// CameraNone is camera.source for a kiosk without a camera.
const CameraNone = "none"

func defaultCamera() Camera {
	return Camera{Source: "/dev/video0", Width: 640, Height: 480, FPS: 15, Format: "auto", Buffers: 2, Rearm: 2 * time.Second,
		MaxImagePixels: DefaultMaxImagePixels}
}

func (c *Camera) validate() error {
	if c.Source == "" {
		return keyErr("camera.source", "must not be empty")
	}
	if c.Source != CameraNone && !strings.HasPrefix(c.Source, "/dev/") && !strings.HasPrefix(c.Source, "dir:") && !strings.HasPrefix(c.Source, "file:") {
		return keyErr("camera.source", "must be a /dev/ device, dir:PATH, file:PATH or none, not %q", c.Source)
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
	// A camera frame of the configured size must fit under the cap.
	if c.MaxImagePixels < c.Width*c.Height || c.MaxImagePixels > maxImagePixelsCeiling {
		return keyErr("camera.max_image_pixels", "must be between camera.width×camera.height (%d) and %d, not %d",
			c.Width*c.Height, maxImagePixelsCeiling, c.MaxImagePixels)
	}
	return nil
}
