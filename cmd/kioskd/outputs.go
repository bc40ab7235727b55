package main

// kioskd outputs: the operator's side of the hand-off queues (issue 21;
// the outputs themselves are kinds opened by the assembler: output/webhook,
// output/mqtt).

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kioskd/kioskd/assembly"
	"github.com/kioskd/kioskd/status"
)

func cmdOutputs(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	usage := func() (int, error) {
		fmt.Fprintln(stderr, "Usage: kioskd outputs list -config FILE | kioskd outputs drop -config FILE NAME")
		return exitError, errUsage
	}
	if len(args) == 0 {
		return usage()
	}
	switch args[0] {
	case "list":
		cfg, st, _, _, err := toolSetup("outputs list", "-config FILE", args[1:], stderr, nil)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		var s status.Snapshot
		assembly.StoredOutputs(&s, &cfg, st)
		if len(s.Outputs) == 0 {
			fmt.Fprintln(stdout, "no outputs configured and no hand-off queued")
		}
		for _, o := range s.Outputs {
			what := o.Kind
			if !o.Configured {
				what = "not configured"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%d queued\t%d dropped\n", o.Name, what, o.Queued, o.Dropped)
		}
		return exitOK, nil
	case "drop":
		_, st, _, rest, err := toolSetup("outputs drop", "-config FILE NAME", args[1:], stderr, nil)
		if err != nil {
			return exitError, err
		}
		defer st.Close()
		if len(rest) != 1 {
			return exitError, errors.New("outputs drop: name one output")
		}
		n, err := st.HandoffDrop(rest[0])
		if err != nil {
			return exitError, err
		}
		fmt.Fprintf(stdout, "dropped %d queued hand-offs of output %s: its receiver will never get them\n", n, rest[0])
		return exitOK, nil
	}
	return usage()
}
