package main

import (
	"context"
	"io"

	"github.com/kioskd/kioskd/demo"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("demo", "[-v]", stderr)
	verbose := fs.Bool("v", false, "also print the daemon's own log lines")
	if err := parse(fs, args); err != nil {
		return exitError, err
	}
	o := demo.Options{}
	if *verbose {
		o.Logger = newLogger(stderr, "debug")
	}
	if _, err := demo.Run(ctx, stdout, o); err != nil {
		return exitError, err
	}
	return exitOK, nil
}
