package mqtt

import (
	"context"

	"github.com/kioskd/kioskd/output"
	"github.com/kioskd/kioskd/output/handoff"
)

// The mqtt kind registers itself; the assembler links it in with a blank
// import (assembly/kinds.go).
func init() {
	output.Register(Kind, output.Kind{
		Open: func(_ context.Context, s output.Spec) (output.Output, error) {
			var c Config
			if err := s.Decode(&c); err != nil {
				return nil, err
			}
			return Open(c, handoff.EnvFrom(s))
		},
		Check: func(decode func(any) error) error {
			var c Config
			if err := decode(&c); err != nil {
				return err
			}
			return c.Check()
		},
		Preflight: func(s output.Spec) error {
			var c Config
			if err := s.Decode(&c); err != nil {
				return err
			}
			_, err := Prepare(c, handoff.EnvFrom(s))
			return err
		},
	})
}
