// Package camera is the camera input kind: a V4L2 device or a replay of
// image files (scanner.Open), whose frames the lane decodes. It registers
// itself as "camera"; the config's camera: section is its block.
package camera

import (
	"context"

	"github.com/kioskd/kioskd/input"
	"github.com/kioskd/kioskd/scanner"
)

// Kind is the name the camera registers under.
const Kind = "camera"

func init() {
	input.Register(Kind, input.Kind{Open: open})
}

func open(_ context.Context, s input.Spec) (input.Input, error) {
	var o scanner.Camera
	if err := s.Decode(&o); err != nil {
		return nil, err
	}
	return scanner.Open(o, scanner.SourceOptions{Logger: s.Logger, OnState: s.OnState, EveryImage: s.Script})
}
