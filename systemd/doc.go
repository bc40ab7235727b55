// Package systemd holds kioskd's systemd unit, kioskd.service, and the tests
// that keep it honest: it parses, it keeps the settings the daemon relies on
// (Type=notify, the watchdog, the credentials, the device allow-list), its
// `systemd-analyze security` exposure stays at or below MaxExposure, and
// every system call `kioskd demo` makes (under strace) passes its
// SystemCallFilter=.
//
// The unit is installed by the .deb (see packaging/) as
// /lib/systemd/system/kioskd.service. No Go code here runs on the kiosk.
package systemd

// MaxExposure is the highest `systemd-analyze security --offline=true`
// exposure score the unit may have (0 = locked down, 10 = unprotected).
const MaxExposure = 2.0
