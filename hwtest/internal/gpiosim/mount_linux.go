package gpiosim

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func mountTracefs() error {
	if err := unix.Mount("nodev", tracefs, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mounting tracefs: %w", err)
	}
	return nil
}
