package config

import (
	"strings"
	"testing"
	"time"
)

func TestGPIOValidation(t *testing.T) {
	tests := []struct {
		name, yaml, key string // key "" = valid
	}{
		{"minimal", "gpio:\n  relay: {line: GPIO17}\n", ""},
		{"chip offset", "gpio:\n  relay: {line: 'pinctrl-rp1:17'}\n", ""},
		{"bad offset", "gpio:\n  relay: {line: 'gpiochip0:x'}\n", "gpio.relay.line"},
		{"no chip", "gpio:\n  buzzer: {line: ':3'}\n", "gpio.buzzer.line"},
		{"empty led", "gpio:\n  accept_led: {active_low: true}\n", "gpio.accept_led.line"},
		{"same line twice", "gpio:\n  relay: {line: GPIO17}\n  exit_button: {line: GPIO17}\n", "gpio.exit_button.line"},
		{"bad pull", "gpio:\n  exit_button: {line: GPIO23, pull: sideways}\n", "gpio.exit_button.pull"},
		{"debounce too long", "gpio:\n  door_contact: {line: GPIO24, debounce: 10s}\n", "gpio.door_contact.debounce"},
		{"reject_for zero", "gpio:\n  reject_for: 0s\n", "gpio.reject_for"},
		{"accept_for huge", "gpio:\n  accept_for: 1h\n", "gpio.accept_for"},
		{"pulse too short", "gpio:\n  relay: {line: GPIO17, pulse: 10ms}\n", "gpio.relay.pulse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("Parse(%q) = %v, want an error naming %s", tt.yaml, err, tt.key)
			}
		})
	}
}

func TestGPIOInputDefaults(t *testing.T) {
	c, err := Parse([]byte("gpio:\n  exit_button: {line: GPIO23, active_low: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := c.GPIO.ExitButton
	if in.Pull != "auto" || in.Debounce != 50*time.Millisecond {
		t.Errorf("exit_button = %+v, want pull auto and 50ms debounce", *in)
	}
}
