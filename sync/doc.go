// Package sync keeps a kiosk's code cache current from BitBadges and carries
// its events back out, whenever the network allows, without ever making the
// door wait for it.
//
// Four parts, each a loop or a call with one owner:
//
//   - Syncer does one full pre-fetch. It renews the app owner's access token
//     (persisting the rotated refresh token in the store before the access
//     token is used: a crash in between must not lose the only valid refresh
//     token), streams every page into a new store snapshot and commits it only
//     when the list was read to its end. Until then the old cache stays
//     intact and keeps serving. A failure of the API or the network keeps the
//     snapshot open and the next attempt resumes after the last complete page
//     (within ResumeWithin, 15 min: 4,000 pages on a flaky link must not start
//     over each time); a store failure or a bookmark loop aborts it. A 401
//     triggers one token renewal, then a clear error.
//   - Every pre-fetch is bounded by pages and by time (bounds.go: 3× the last
//     complete one plus a margin unless configured), and a bookmark handed
//     out twice in one pre-fetch, resumptions included, is a cycle: either
//     stops it for good, the old cache kept. GuardTransport sees the page
//     requests go out, so the bounds hold whatever the page decoding does.
//   - A complete snapshot is judged by its distinct codes before it is
//     committed: one that would empty a non-empty cache, or drop more than
//     HoldBackPolicy.MaxDrop of a cache of at least MinCodes, is held back
//     (ErrHeldBack, Syncer.HeldBack) until SyncWith(ApplyHeldBack). Codes sent
//     in upper case are stored under the hash of their lower-case text, which
//     is what a scan looks up.
//   - Scheduler runs the Syncer at start-up and on bitbadges.sync_schedule
//     (robfig/cron), never two at once, with SyncNow for a manual trigger.
//     Failures back off exponentially with jitter up to bitbadges.max_backoff;
//     a 429's Retry-After is honoured; 401 and 402 need a human, so they are
//     reported as such and retried only at the slowest pace. A sync whose
//     server time the store held (Result.ClockHeld) is followed by another
//     within ClockConfirmAfter (1 min), so a kiosk back after days offline
//     does not wait a whole schedule period to trust the time again.
//   - Exchanger is the online fallback for a code not in the cache (it
//     implements verify.Exchanger): one exchange within the caller's time
//     budget. It records nothing; the verifier records the redemption.
//   - With access requirements (owners.go) the Syncer, after the codes,
//     pages the owners of every required token into the same snapshot; any
//     failure there aborts the whole snapshot (the next attempt starts
//     over), so codes and owners always change together. BalanceChecker is
//     the verifier's online second chance for one visitor's badges.
//   - Uploader drains the store's event outbox, oldest first, in batches,
//     through a pluggable Transport (HTTPTransport POSTs JSON to events.url).
//     An event leaves the outbox only after a 2xx (or an operator's
//     `kioskd events drop`): any other answer keeps it, backs off (bounded
//     by bitbadges.max_backoff) and shows in Stats; a 413 halves the batch,
//     a 400/409/422 is narrowed down to the event refused, where the outbox
//     then waits (AnswerClass). The upload is idempotent on each event's
//     nonce, so a retry after a lost answer does no harm. NewUploader builds
//     it without the rest of the Service (no BitBadges credentials needed).
//
// One window cannot be closed from here: BitBadges kills the old refresh
// token when it answers a renewal, so if the answer is lost (timeout) or the
// power fails before the new token's fsync, the kiosk holds no valid refresh
// token and must be re-authorised (a new bitbadges.refresh_token_file; the
// Syncer tries it when the stored one is refused). The window is one round
// trip and one fsync, at each renewal (start-up, then about daily).
//
// The Date header of every successful answer advances the store's trusted
// time (throttled: the store fsyncs each observation), bounded by the store
// (store.ObserveServerTime: a Date more than a day past the trusted time plus
// the elapsed time is ignored; a sync's such time is only held until the next
// sync agrees). Error answers' Dates are never used: a 402 or a proxy's page
// saying 2100 must not lock the kiosk's clock in the future. Status gathers
// what an operator needs: last success and its age, codes cached, last error,
// next sync (never the zero time once the scheduler runs), the pre-fetch under
// way (since, page), a held-back snapshot, pending events.
//
// Nothing here logs or returns a secret: the API key, client secret, tokens
// and codes stay out of every error and log line (a code's hash prefix at most).
package sync
