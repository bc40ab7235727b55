package main

import (
	"context"
	"fmt"
	"io"
)

// cmdFleet is the operator's side of the fleet outbox: the local
// redemptions the broker never acknowledged survive a config without
// fleet.broker (store.DisableFleetOutbox), so discarding them is a decision
// taken here, on purpose, never a side effect of a reload.
func cmdFleet(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || args[0] != "drop" {
		fmt.Fprintln(stderr, "Usage: kioskd fleet drop -config FILE")
		return exitError, errUsage
	}
	_, st, _, _, err := toolSetup("fleet drop", "-config FILE", args[1:], stderr, nil)
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	n, err := st.DropFleetOutbox()
	if err != nil {
		return exitError, err
	}
	if n == 0 {
		fmt.Fprintln(stdout, "no local redemptions were waiting for the fleet")
		return exitOK, nil
	}
	fmt.Fprintf(stdout, "dropped %d local redemptions the fleet never received: the other kiosks may accept those codes once more\n", n)
	return exitOK, nil
}
