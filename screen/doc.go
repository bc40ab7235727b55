// Package screen is the scan-mode screen: a full-screen page for the kiosk's
// own display (Chromium in kiosk mode on the local listener) that tells the
// person in front of the camera what happened.
//
// It shows "hold your code here", with a live hint while the camera sees a
// code it cannot read (too far, too dark: see Hint); each verdict in large
// type and colour with its reason in plain words (verify.Verdict.Explain),
// and the record's display name with an accept when the venue allows it
// (Options.ShowName); and a fault notice while the camera, the store or the
// clock is unhealthy (Options.Health).
//
// The page is one embedded HTML file with its style and script inline
// (allowed by hash in the Content-Security-Policy, nothing else may load) and
// is updated over Server-Sent Events. Verdict and Hint only swap the shown
// state under a mutex and wake the streams: the scan lane never waits for a
// browser. Each stream sends only the latest state (a slow page skips
// states, it never queues them), a write that stalls for writeTimeout drops
// that page (it reconnects), and at most Options.MaxClients streams are
// open at once: more are refused with 503.
//
// Nothing on the page or in its events is secret: no code, no hash, no
// address; the name only with ShowName.
package screen
