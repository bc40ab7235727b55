// Package authsignal is a small client for the part of Authsignal's API that
// a kiosk showing a QR code needs: the anonymous QR challenge (client API,
// tenant id as credential) and the validation of the resulting token (server
// API, secret key as credential).
//
// The model, in three calls:
//
//   - CreateChallenge asks for an anonymous challenge. Its ID is the text of the
//     QR code the kiosk shows. It lives ten minutes; there is no refresh
//     endpoint, so a kiosk "refreshes" by creating a new one (Authsignal's own
//     SDK does so every nine minutes).
//   - Poll reports the challenge's State: Unclaimed, Claimed (a phone scanned it:
//     hide the QR), Rejected (the user declined) or Approved, which carries an
//     access Token.
//   - Validate sends the token to the server API with the secret key and
//     returns an Approval only when the server says CHALLENGE_SUCCEEDED for the
//     expected action and the approval's idempotency key was never used before
//     (see Ledger): anything else is an error wrapping ErrRefused.
//
// Errors say what was being done and wrap sentinels a caller can test with
// errors.Is: ErrUnauthorized (bad tenant id, secret key or region: retrying
// will not help), ErrChallengeGone (expired or unknown challenge: create a new
// one) and ErrRefused (the approval does not let anyone in). Everything else
// (network, timeout, 5xx, 429, a malformed or truncated body) is transient:
// Temporary reports it.
//
// Secrets: the secret key and access tokens never appear in errors or logs.
// Token's String method prints "[redacted]", and any text the server sends
// back is scrubbed of both before it goes into an error.
//
// Every call takes a context and is bounded by Config.Timeout; response
// bodies are read up to a fixed limit.
package authsignal
