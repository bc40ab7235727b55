// Package display is kioskd's second way in, for kiosks with a screen: the
// kiosk shows a QR code, the visitor scans it with their phone's app and
// approves, and the kiosk lets them in like an accepted scan. Authsignal's
// QR challenge (package authsignal) carries the exchange.
//
// A Controller runs one loop (Run) and shows one Screen at a time:
//
//	Starting ──► Scan ──claimed──► CheckPhone ──approved+validated──► Welcome ─┐
//	               ▲  │                 │                                       │
//	               │  │ refresh/expiry  └──declined or refused──► Declined ────┤
//	               │  ▼                                                         │
//	               └──┴──────────────────── new challenge ◄─────────────────────┘
//	Unavailable: the API cannot be reached (or refuses our credentials); the
//	loop retries with backoff and returns to Scan by itself.
//
// The rules that matter at the door:
//   - Only an approval that Authsignal's server API validates (state
//     CHALLENGE_SUCCEEDED, the configured action, an idempotency key never
//     used before) reaches Sink.Approved, which opens the door. Everything
//     else is Sink.Rejected with a Reason. kioskd's Sink records the
//     approval durably before it opens; when it cannot (a full disk), the
//     door stays shut and the screen says Declined, never Welcome.
//   - A challenge is replaced before it expires (Options.Refresh, default 9
//     minutes, and in any case when its expiresAt passes), but never while a
//     phone holds it (claimed), unless it actually expires.
//   - Expiry is timed on the monotonic clock from the moment of creation, so a
//     Pi whose wall clock is wrong (no RTC) still refreshes on time.
//   - Offline never blocks the scan mode: the screen just says the display
//     sign-in is unavailable and points the visitor at their BitBadges code.
//   - The access token never leaves the Controller: not in logs, not on the
//     page, not to the Sink.
//
// Handler serves the screen for Chromium in kiosk mode: one self-contained
// page (no external assets), the QR rendered server-side as SVG with gozxing,
// the state pushed by server-sent events.
package display
