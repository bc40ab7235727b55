package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/gpio"
	"github.com/kioskd/kioskd/scanner"
)

func cmdCamera(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "Usage: kioskd camera list | kioskd camera snapshot -config FILE -o FILE.png")
		return exitError, errUsage
	}
	switch args[0] {
	case "list":
		fs := newFlags("camera list", "", stderr)
		if err := parse(fs, args[1:]); err != nil {
			return exitError, err
		}
		cams, err := scanner.ListCameras()
		if err != nil {
			return exitError, err
		}
		if len(cams) == 0 {
			fmt.Fprintln(stdout, "no V4L2 capture devices found (is the camera plugged in? ls /dev/video*)")
			return exitOK, nil
		}
		writeCameras(stdout, cams)
		return exitOK, nil
	case "snapshot":
		fs := newFlags("camera snapshot", "-config FILE -o FILE.png", stderr)
		cfgPath := configFlag(fs)
		out := fs.String("o", "snapshot.png", "write the PNG to `FILE`")
		if err := parse(fs, args[1:]); err != nil {
			return exitError, err
		}
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return exitError, err
		}
		f, err := os.Create(*out)
		if err != nil {
			return exitError, fmt.Errorf("snapshot: %w", err)
		}
		err = scanner.Snapshot(ctx, assembly.CameraOptions(cfg.Camera), f)
		if err = errors.Join(err, f.Close()); err != nil {
			os.Remove(*out)
			return exitError, fmt.Errorf("snapshot of %s: %w", cfg.Camera.Source, err)
		}
		fmt.Fprintf(stdout, "wrote %s from %s\n", *out, cfg.Camera.Source)
		return exitOK, nil
	}
	fmt.Fprintf(stderr, "kioskd camera: unknown subcommand %q (list, snapshot)\n", args[0])
	return exitError, errUsage
}

func cmdGPIO(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || (args[0] != "test" && args[0] != "release") {
		fmt.Fprintln(stderr, "Usage: kioskd gpio test -config FILE | kioskd gpio release -config FILE")
		return exitError, errUsage
	}
	fs := newFlags("gpio "+args[0], "-config FILE", stderr)
	cfgPath := configFlag(fs)
	if err := parse(fs, args[1:]); err != nil {
		return exitError, err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return exitError, err
	}
	o := gpio.Options{Logger: newLogger(stderr, cfg.LogLevel)}
	if args[0] == "release" {
		// systemd's ExecStopPost: after a kill during a pulse, no relay
		// stays energised.
		if err := gpio.Release(assembly.GPIOConfig(cfg.GPIO), o); err != nil {
			return exitError, err
		}
		fmt.Fprintln(stdout, "every configured output is at its inactive level")
		return exitOK, nil
	}
	if err := gpio.Test(ctx, assembly.GPIOConfig(cfg.GPIO), o, stdout); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// writeCameras prints `kioskd camera list`: each device, its formats and
// sizes, and its controls with the names camera.controls takes.
func writeCameras(w io.Writer, cams []scanner.CameraInfo) {
	for _, c := range cams {
		fmt.Fprintf(w, "%s\t%s\t%s\n", c.Path, c.Name, c.Bus)
		if c.Err != "" {
			fmt.Fprintf(w, "\t(%s)\n", c.Err)
		}
		for _, f := range c.Formats {
			fmt.Fprintf(w, "\t%s (%s)\n", f.FourCC, f.Description)
			for _, sz := range f.Sizes {
				fmt.Fprintf(w, "\t\t%s @ %s\n", sz.Size, strings.Join(sz.Rates, " "))
			}
		}
		if len(c.Controls) == 0 {
			continue
		}
		fmt.Fprintf(w, "\tcontrols (set them in camera.controls by name):\n")
		for _, ct := range c.Controls {
			def, cur := "?", "?"
			if ct.HasDefault {
				def = fmt.Sprint(ct.Default)
			}
			if ct.HasCurrent {
				cur = fmt.Sprint(ct.Current)
			}
			line := fmt.Sprintf("\t\t%-32s %-4s min %d max %d step %d default %s current %s", ct.Name, ct.Type, ct.Min, ct.Max, ct.Step, def, cur)
			if ct.Inactive {
				line += " (inactive: an automatic mode owns it)"
			}
			if ct.Err != "" {
				line += " (" + ct.Err + ")"
			}
			fmt.Fprintf(w, "%s  [0x%08x %q]\n", line, ct.ID, ct.Label)
		}
	}
}
