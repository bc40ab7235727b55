package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/blackjack/webcam"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"

	"github.com/kioskd/kioskd/hwtest/internal/gpiosim"
	"github.com/kioskd/kioskd/hwtest/internal/v4lout"
)

// rawGPIO proves the GPIO half of the harness without kioskd: the chip is
// found by its label through the character device (periph gpioioctl, the
// library kioskd uses), and a level driven there shows in gpio-sim's sysfs.
func rawGPIO(chip *gpiosim.Chip) (string, error) {
	if _, err := driverreg.Init(); err != nil {
		return "", fmt.Errorf("periph init: %w", err)
	}
	var c *gpioioctl.GPIOChip
	for _, ch := range gpioioctl.Chips {
		if ch.Label() == chip.Label {
			c = ch
		}
	}
	if c == nil {
		return "", fmt.Errorf("no gpio chip labelled %q among %d chips", chip.Label, len(gpioioctl.Chips))
	}
	line := c.ByName(chip.Lines[0])
	if line == nil {
		return "", fmt.Errorf("chip %s has no line %s", c.Name(), chip.Lines[0])
	}
	defer line.Close()
	for _, lv := range []gpio.Level{gpio.High, gpio.Low} {
		if err := line.Out(lv); err != nil {
			return "", fmt.Errorf("driving %s %v: %w", chip.Lines[0], lv, err)
		}
		want := 0
		if lv {
			want = 1
		}
		if got, err := chip.Value(0); err != nil || got != want {
			return "", fmt.Errorf("sysfs shows %d after driving %v (err %v)", got, lv, err)
		}
	}
	return fmt.Sprintf("%s %s (%d chips) line %s drives sysfs", c.Name(), c.Label(), len(gpioioctl.Chips), chip.Lines[0]), nil
}

// rawCamera proves the camera half: a QR frame written to the output side
// is captured through the V4L2 capture side (blackjack/webcam, as kioskd)
// and decodes to the same text.
func rawCamera(dev string) (string, error) {
	const text = "hwtest raw camera check"
	fd := newFeeder(dev, 640, 480, 15)
	if err := fd.start(); err != nil {
		return "", err
	}
	defer fd.stop()
	frame, err := v4lout.QR(text, 640, 480, 320)
	if err != nil {
		return "", err
	}
	if _, err := fd.show(frame); err != nil {
		return "", err
	}
	cam, err := webcam.Open(dev)
	if err != nil {
		return "", fmt.Errorf("opening capture side: %w", err)
	}
	defer cam.Close()
	pf, w, h, err := cam.SetImageFormat(webcam.PixelFormat(v4lout.PixYUYV), 640, 480)
	if err != nil {
		return "", fmt.Errorf("setting capture format: %w", err)
	}
	if err := cam.SetBufferCount(2); err != nil {
		return "", fmt.Errorf("setting buffer count: %w", err)
	}
	if err := cam.StartStreaming(); err != nil {
		return "", fmt.Errorf("starting capture: %w", err)
	}
	defer cam.StopStreaming()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := cam.WaitForFrame(2); err != nil {
			var te *webcam.Timeout
			if errors.As(err, &te) {
				continue
			}
			return "", fmt.Errorf("waiting for a frame: %w", err)
		}
		buf, idx, err := cam.GetFrame()
		if err != nil {
			return "", fmt.Errorf("getting a frame: %w", err)
		}
		y := make([]byte, w*h)
		for i := range y {
			y[i] = buf[2*i]
		}
		cam.ReleaseFrame(idx)
		src, err := gozxing.NewPlanarYUVLuminanceSource(y, int(w), int(h), 0, 0, int(w), int(h), false)
		if err != nil {
			return "", fmt.Errorf("luminance source: %w", err)
		}
		bmp, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
		res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			continue
		}
		if res.GetText() != text {
			return "", fmt.Errorf("decoded %q, want %q", res.GetText(), text)
		}
		return fmt.Sprintf("%s %dx%d fourcc %08x: QR round trip through the kernel", dev, w, h, uint32(pf)), nil
	}
	return "", errors.New("no decodable frame within 10s")
}
