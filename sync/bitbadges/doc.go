// Package bitbadges is kioskd's HTTP client for the parts of the BitBadges API
// a kiosk uses: the pre-fetch of every authentication code issued for the app
// (GET /developerApps/siwbbRequests, paged), the owner's token renewal and the
// one-time exchange of a code (both POST /siwbb/token).
//
// The client is deliberately literal about BitBadges' quirks:
//
//   - numbers, timestamps included, arrive as JSON strings or numbers; both are
//     accepted, and expiresAt 0 means "never";
//   - a record may lack its code: it is matched on _docId, the hex sha256 of
//     the code's 64-character text; when the code is present the two must agree;
//   - soft-deleted records (deletedAt) are skipped, unknown fields ignored;
//   - a malformed record is counted and skipped; a malformed page is an error,
//     because a pre-fetch with a hole in it must never replace the cache;
//   - pages are 25 records and hasMore means "this page was full", so the last
//     page may be empty;
//   - the GET pre-fetch replaced an older POST form with a JSON body; on 404 or
//     405 the client falls back to it and remembers which form worked;
//   - an unknown code or a bad client secret comes back as 500, not 404.
//
// Every response body is read through a bound (MaxBodyBytes), and a pre-fetch
// page is decoded as a stream, one record at a time, up to a bound on its
// records (MaxPageRecords), so a broken or hostile server cannot exhaust a
// kiosk's memory, whether with bytes or with a million tiny records. The Date
// header of every successful (2xx, complete) response is reported through
// OnServerTime: the store uses it, bounded, as trusted time on a device
// without a real-time clock. An error answer's Date (401, 402, 5xx, a
// proxy's page) is not: it proves nothing about who sent it.
//
// Errors are typed (APIError, RateLimited, ErrUnauthorized, ErrCredits,
// ErrMalformed, ErrTooLarge) and never contain the API key, the client secret,
// a token or a code: the server's own error message is redacted before it is
// kept. Package bbtest beside this one is an in-process stand-in of the API.
package bitbadges
