package handoff

import "github.com/kioskd/kioskd/output"

// EnvFrom is the Env of the output an assembler opens with s.
func EnvFrom(s output.Spec) Env {
	e := Env{Name: s.Name, Kiosk: s.Kiosk, Logger: s.Logger, Resolve: s.Resolve, Secret: s.Secret}
	if s.Store != nil {
		e.Queue = s.Store
	}
	return e
}
