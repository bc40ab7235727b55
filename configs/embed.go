// Package configs holds kioskd's shipped configurations: the documented
// production example and the demo's embedded default.
package configs

import _ "embed"

// Demo is configs/demo.yaml, the configuration `kioskd demo` runs on.
//
//go:embed demo.yaml
var Demo []byte

// Production is configs/kioskd.yaml, the documented production example.
//
//go:embed kioskd.yaml
var Production []byte
