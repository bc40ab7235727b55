package gpio

import "time"

// Config is what Open, Test and Release drive: kioskd's gpio: section, in
// this package's own terms. The yaml names are the config file's keys, so
// a test (or a driver-side tool) can read a gpio: block directly; kioskd
// itself fills it from the validated config (package assembly).
type Config struct {
	// Driver names a registered driver: cdev (kernel GPIO character
	// device, package gpio/cdev), sim (records transitions), none.
	Driver string `yaml:"driver"`
	// Chip is the default gpiochip, by name or label; "" = look the line
	// name up on every chip.
	Chip string `yaml:"chip"`

	AcceptLED *LineConfig  `yaml:"accept_led"`
	RejectLED *LineConfig  `yaml:"reject_led"`
	Relay     *RelayConfig `yaml:"relay"`
	Buzzer    *LineConfig  `yaml:"buzzer"`

	ExitButton  *InputConfig `yaml:"exit_button"`
	DoorContact *InputConfig `yaml:"door_contact"`

	// How long the accept and reject patterns show.
	AcceptFor time.Duration `yaml:"accept_for"`
	RejectFor time.Duration `yaml:"reject_for"`
}

// LineConfig is one output line.
type LineConfig struct {
	// Name is a line name (GPIO17) or chip:offset (gpiochip0:17).
	Name      string `yaml:"line"`
	ActiveLow bool   `yaml:"active_low"`
}

// RelayConfig is the door strike's relay line.
type RelayConfig struct {
	LineConfig `yaml:",inline"`
	// Pulse is how long the door stays unlocked after an accept.
	Pulse time.Duration `yaml:"pulse"`
	// FailMode is "secure" (locked on a fault and at shutdown) or "safe"
	// (unlocked on a fault).
	FailMode string `yaml:"fail_mode"`
}

// InputConfig is one debounced input line.
type InputConfig struct {
	Name      string `yaml:"line"`
	ActiveLow bool   `yaml:"active_low"`
	// Pull is auto (towards the inactive level), up, down or none.
	Pull     string        `yaml:"pull"`
	Debounce time.Duration `yaml:"debounce"`
}
