// Package desk is the staff desk: a page on the kiosk's local listener where
// staff check a code by hand and open the door on purpose.
//
// A code is typed, pasted, or scanned with a handheld keyboard-wedge scanner
// into the page's focused field (the scanner types the code and Enter), and
// the verdict is shown with its reason in plain words
// (verify.Verdict.Explain) and the record's display name. The check goes
// through the kiosk's own lane (page.Lane.SubmitWith, i.e.
// kiosk.Pipeline.SubmitWith: payload rule, verify, record), never a copy of
// it: whether it redeems the code (a check-in, as pretix-style desks do: the
// default) or only looks (check: dry-run), and whether an accept also opens
// the door (open_on_accept), are the page's settings (kind.go).
//
// "Manual open" opens the door without a code. It needs a reason, is
// recorded (durably, before the door opens) and uploaded as an event with
// the staff member's name and the reason, and is rate-limited for all staff
// together (Options.MaxOpens per Options.OpenWindow).
//
// # Access
//
// Every action needs a named staff token (staff_file, ParseStaff) in an
// "Authorization: Bearer" header; the page itself is static and holds
// nothing, it asks for the token and keeps it in the tab's sessionStorage.
// Tokens are compared by their SHA-256 in constant time, all of them every
// time; they never reach a log, an error, an event or a page: the name does.
//
// The desk is on a LAN listener, so it refuses cross-site requests (CSRF): a
// POST must be JSON (a form of another site cannot send it without a
// preflight), must carry the token in its header (a browser never adds it by
// itself), and is refused when its Origin is not this listener's own or its
// Sec-Fetch-Site says another site sent it.
package desk
