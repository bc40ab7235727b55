package config

import "time"

// Screen is the scan-mode screen: a full-screen page on the local listener
// (/screen/) for the kiosk's own display, showing each verdict in plain
// words as it is taken.
type Screen struct {
	Enabled bool `yaml:"enabled"`
	// ShowName shows the record's display name with an accept ("Welcome,
	// Ada"); off by default: a venue decides whether a passer-by may read it.
	ShowName bool `yaml:"show_name"`
	// Hold is how long a verdict stays on screen before "hold your code here".
	Hold time.Duration `yaml:"hold"`
	// MaxClients bounds the pages connected at once (each holds one event
	// stream); more are refused with 503.
	MaxClients int `yaml:"max_clients"`
}

func defaultScreen() Screen { return Screen{Hold: 4 * time.Second, MaxClients: 4} }

func (s *Screen) validate() error {
	if s.Hold < 500*time.Millisecond || s.Hold > time.Minute {
		return keyErr("screen.hold", "must be between 500ms and 1m, not %v", s.Hold)
	}
	if s.MaxClients < 1 || s.MaxClients > 32 {
		return keyErr("screen.max_clients", "must be between 1 and 32, not %d", s.MaxClients)
	}
	return nil
}

// validatePages checks what the screen and the desk need of the rest.
func (c *Config) validatePages() error {
	if c.HTTP.Listen == "" {
		if c.Screen.Enabled {
			return keyErr("http.listen", "must be set when screen.enabled is true: the screen is served there")
		}
		if c.Desk.Enabled {
			return keyErr("http.listen", "must be set when desk.enabled is true: the desk is served there")
		}
	}
	return nil
}
