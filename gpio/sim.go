package gpio

import (
	"fmt"

	"github.com/kioskd/kioskd/gpio/gpiosim"
)

// The sim driver records every transition (kioskd demo, tests, a kiosk
// tried out without wiring). It is registered here rather than by gpiosim,
// which stays a plain recorder that test code of any package can use.
func init() {
	RegisterDriver("sim", func(o DriverOptions) (Driver, error) {
		rec := o.Sim
		if rec == nil {
			// A sim kiosk without a recorder from its caller still shows
			// what its lines do, in the log.
			log := o.Logger
			rec = gpiosim.NewRecorder(func(t gpiosim.Transition) {
				log.Info("gpio sim", "line", t.Line, "label", t.Label, "active", t.Active, "high", t.Level)
			})
		}
		return simDriver{rec}, nil
	})
}

type simDriver struct{ rec *gpiosim.Recorder }

func (d simDriver) Output(key string, l LineConfig, label string, high bool) (PhysOut, error) {
	p, err := d.rec.RequestOutput(l.Name, label, l.ActiveLow, high)
	if err != nil {
		return nil, fmt.Errorf("%s.line: %w", key, err)
	}
	return p, nil
}

func (d simDriver) Input(key string, in InputConfig, pull Pull) (PhysIn, error) {
	bias := gpiosim.BiasNone
	switch pull {
	case PullUp:
		bias = gpiosim.BiasPullUp
	case PullDown:
		bias = gpiosim.BiasPullDown
	}
	p, err := d.rec.RequestInput(in.Name, bias)
	if err != nil {
		return nil, fmt.Errorf("%s.line: %w", key, err)
	}
	return p, nil
}
