// Package gpio drives what the person at the door sees and hears, the accept
// and reject LEDs and the buzzer, and the relay of the door lock. It also
// watches two optional inputs: a request-to-exit button and a door contact.
//
// # Model
//
// Open requests the configured lines and returns an *Outputs, the kiosk's
// Signal. One goroutine owns every line and every timer. Show and SetFault
// only leave a request for it (the latest pattern wins; an accept's relay
// pulse and the fault state are never lost) and return at once: they never
// wait for the hardware, and a stalled pipeline cannot hold the door open,
// because the end of a relay pulse is that goroutine's timer, not the
// caller's. What every line should be is a pure function of the state and
// the time; the goroutine writes what differs and sleeps until the next
// change. A failed write is retried within 100ms. Close (or the end of
// Open's context) drives every output to its inactive level, releases the
// lines and only then returns.
//
// The patterns, told apart by light and by rhythm alone (a GPIO buzzer has
// one tone):
//
//	pattern    LEDs                                   buzzer              relay
//	Starting   green and red alternate, 250ms         one 60ms chirp      -
//	Accept     green for gpio.accept_for              one 150ms beep      pulse for gpio.relay.pulse
//	Reject     red for gpio.reject_for                two 250ms beeps     never
//	Fault      red flashes 100ms, gpio.reject_for     one 600ms beep      never
//	SetFault   red blinks slowly (0.5s on, 1.5s off)  -                   fail_mode safe: energised
//	           while no pattern is showing
//
// Open starts in Starting; the caller shows Idle when the kiosk is ready. A
// new accept while the relay is energised extends the pulse to a full
// gpio.relay.pulse from that accept. Show(Idle) ends the light and sound
// patterns but never cuts a relay pulse short. An exit-button press pulses
// the relay as an accept does, without light or sound (that is what a
// request-to-exit button is for), also while the rest of kioskd is stalled,
// and, like every debounced input change, is passed to Options.OnInput.
// Outputs.Status is a snapshot for the status page. Test (`kioskd gpio test`) switches each output on for a
// second, one after the other, and prints input changes as they happen.
//
// # Drivers (gpio.driver)
//
// Drivers register themselves (RegisterDriver, from init) and gpio.driver
// picks one by name, as periph's host drivers do; a new driver is a new
// package and a blank import in the assembler (assembly/kinds.go).
//
//   - cdev: the Linux GPIO character device (/dev/gpiochip*) through
//     periph.io gpioioctl; Raspberry Pi 4 and 5. Registered by package cdev.
//   - sim: records every transition with its time in a gpiosim.Recorder;
//     used by the demo and the tests. Registered here.
//   - none: a display-only kiosk; Show does nothing. Registered here.
//
// Lines are named as the chip names them (GPIO17 on a Pi) or chip:offset
// (gpiochip0:17, pinctrl-rp1:17). gpio.chip restricts name look-ups to one
// chip, by name or label: pinctrl-bcm2711 on a Pi 4, pinctrl-rp1 on a Pi 5.
//
// # For installers: wiring a door safely
//
// "Active" below means what a line is for: the LED lit, the buzzer
// sounding, the relay energised (door unlocked). active_low: true says the
// device is active when the pin is low; kioskd does the inversion.
//
// The relay's contacts. Wire the lock so that an energised relay means
// unlocked:
//
//   - Electric strike, fail-secure (power to unlock): through the relay's
//     NO (normally open) contact. Power loss anywhere: locked.
//   - Magnetic lock or fail-safe strike (power to lock): through the NC
//     (normally closed) contact. The relay energised breaks the lock's
//     power: unlocked. If the Pi loses power but the lock's supply does
//     not, the door stays locked: emergency egress must not depend on
//     kioskd (see below).
//
// Boot. From power-on until kioskd starts, the kernel owns the pins: each is
// an input with its reset pull. On a Pi 4 (BCM2711) GPIO0-8 are pulled up
// and GPIO9-27 pulled down at reset; firmware settings in config.txt and
// device-tree overlays (UART on GPIO14/15, I2C with strong pull-ups on
// GPIO2/3, SPI, audio on GPIO18-21) change that. Check a pin on your board
// with `pinctrl get <n>` after a cold boot with kioskd stopped. The rule:
// the pin's level at boot must be its inactive level.
//
//   - Active-high relay module or transistor/MOSFET driver (active_low:
//     false): a pin pulled down at reset, e.g. GPIO17, GPIO27, GPIO22. Add
//     an external 10k pull-down at the module input to be independent of
//     the weak internal one.
//   - Active-low module (the common opto-isolated "low level trigger"
//     boards, active_low: true): a pulled-down pin energises it at boot.
//     Use a pin pulled up at reset (GPIO5 or GPIO6 on a Pi 4) or add an
//     external 10k pull-up to 3.3V. Such boards powered from 5V may not
//     switch fully off at 3.3V: remove the JD-VCC jumper and feed the
//     input side from 3.3V, or prefer an active-high module.
//
// kioskd's first hardware action (before the camera or the sync starts) is
// to request every output already at its inactive level: the kernel makes
// the line an output and sets its value in one request, so an active-low
// relay does not click at start-up. (periph's own Out() would first make
// the line an output at low, then write the level: a pulse on an
// active-low board. kioskd does not use it for outputs.) Output lines are
// never read back.
//
// Shutdown and crashes. On Close (a clean stop, systemctl stop) every
// output is driven inactive before the lines are released. What a released
// line does is up to the chip's kernel driver: it either returns to an input
// with its pull or keeps its last level. If kioskd is killed during a relay
// pulse the relay may stay energised until something drives the line again:
// Release (`kioskd gpio release`, suitable for systemd's ExecStopPost)
// drives every output inactive and exits.
//
// # gpio.relay.fail_mode
//
// A fault is what the kiosk shows with SetFault: camera down, code cache
// stale, clock not trusted.
//
//   - secure (default): a fault never moves the relay; the door stays
//     locked, accepted codes still open it.
//   - safe: while a fault is on, the relay is held energised (door
//     unlocked), for sites whose egress rules want an unlocked door when
//     the access system is degraded. It is released when the fault clears
//     (a pulse in progress still runs to its end) and at shutdown: kioskd
//     does not leave a door unlocked behind it, because once it has exited
//     nothing guarantees what the line does.
//
// Life-safety egress (fire alarm release, a mechanical or hard-wired exit
// button in the lock's power circuit) must be wired independently of the Pi,
// as local codes require. fail_mode safe is a convenience on top of that,
// never instead of it.
//
// # Inputs
//
// gpio.exit_button and gpio.door_contact are debounced in software: a new
// level counts once it has held for debounce (default 50ms) since its last
// edge, so a bouncing contact gives one event. active_low says the input is
// asserted when the pin is low (a button to ground); pull (default auto)
// biases the pin towards its inactive level so a cut wire reads "not
// pressed"; use none with external resistors. The door contact is asserted
// when the door is open: set active_low to match the sensor. Inputs use edge
// events where the chip has them and are polled every 10ms where it has not.
package gpio
