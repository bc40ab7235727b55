package main

import "github.com/kioskd/kioskd/hwtest/internal/gpiosim"

const kioskdBin = "/bin/kioskd"

func kioskdScenarios(chip *gpiosim.Chip) []scenario { return nil }
