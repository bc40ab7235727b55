package sync

import "github.com/kioskd/kioskd/verify"

// The verifier's online fallback is this package's Exchanger.
var _ verify.Exchanger = (*Exchanger)(nil)
