// Package verify decides whether a kiosk code lets its holder in: the venue's
// policy (re-use, time window, cache age, clock trust) applied over the store.
//
// # One check
//
// Check(ctx, code, opts) hashes the code (the store never sees the code
// itself), reads the cached record and the code's redemption state in one
// read transaction, and applies the rules in this order; the first that fails
// names the Reason:
//
//  1. unknown: not in the cache (and no online exchange is possible);
//  2. clock-untrusted: the wall clock is untrusted, policy.untrusted_clock is
//     reject, and a time rule applies to this code (see below);
//  3. stale-cache: the cache is older than policy.max_cache_age (or was never
//     synced) and policy.stale_cache is reject; with warn the code is accepted
//     with a Warning and Health reports Stale so the kiosk shows the fault;
//  4. outside-window: before policy.valid_from or at/after policy.valid_until;
//  5. expired: at/after the record's expiresAt (zero = never);
//  6. already-used: reuse single and the code was used (here or, via the
//     fleet, at a peer), or reuse cooldown and the last use is less than
//     policy.cooldown ago; unlimited never rejects here. Exit scans are not
//     uses: leaving never consumes a code;
//  7. anti-passback (policy.anti_passback, directed scans only): an entry
//     while inside, or an exit while not inside;
//  8. requirement-not-met (access.require, entries only: leaving needs no
//     badge): the holder's bitbadgesAddress does not hold the badges (see
//     below); Verdict.Requirement names the failed requirement. When the
//     owners data for it is missing, or older than access.max_owners_age,
//     access.stale_owners reject makes it stale-cache (naming it); warn
//     decides from the old data and accepts, flagged, what it cannot decide.
//
// # Badge-gated entry
//
// A requirement is met when the address holds, at the decision time, at
// least min_amount of its token ids together (any mix of them). A balance
// counts only while the time is inside one of its ownershipTimes, so a
// season pass stops at the season's end; the time is the decision time of
// the clock rules below (the last trusted time when the clock is not
// trusted; under untrusted_clock reject every gated entry is
// clock-untrusted). match all needs every requirement, any one of them.
// The owners come from the same snapshot as the codes. A visitor refused
// by them is re-checked online (Options.Balances, never on a dry run) within
// the same ExchangeBudget; a pass is written to the event's detail and kept
// in the store until the next sync. A badge transferred away after the last
// sync is honoured until the next one. A code exchanged online is gated on
// the exchanged record's address after the exchange (which consumed it).
//
// With policy.visits (reuse unlimited) an accepted entry or undirected scan
// also counts a visit of the holder, unless within the cooldown of the
// last one, and the Verdict carries Holder, Visit, VisitPeriod and
// VisitCounted: see visits.go.
//
// Otherwise the code is accepted, and unless opts.DryRun the redemption is
// written and fsync'd (store.Redeem) before Check returns, so the door may
// open. Every verdict, accept or reject, is written to the event outbox with
// the code's hash, never the code. Any store failure, including a failed
// Redeem, is Reason error and never an accept.
//
// A code the cache does not know is exchanged online (Options.Exchanger,
// bounded by ExchangeBudget) only after rules 2, 4, 6 and 7 passed, because
// the exchange consumes the code at BitBadges; it is never exchanged on a dry
// run. A successful exchange is accepted (unless the exchanged record has
// expired) and recorded as a redemption like any other, so the next
// presentation is already-used without asking again. A cache's age does not
// matter for a code confirmed online. A failed or timed-out exchange is unknown.
//
// Checks of the same code are serialized (store.LockCode) from reading its
// state to recording its redemption, so two cameras cannot both admit a
// single-use code.
//
// # The clock
//
// A Pi has no real-time clock and may boot with a clock days off. The store
// keeps the latest trustworthy time (server Date headers, completed syncs,
// imports). A wall clock earlier than that by more than policy.clock_tolerance
// (default 2m) is untrusted; one never contradicted (no trusted time yet) is
// trusted. A clock that runs ahead cannot be detected offline, and what it
// stamps stays: redemptions made while it ran ahead carry future times, so
// under reuse cooldown those codes stay already-used until that future time
// plus the cooldown (the safe direction: nobody extra gets in). Keep NTP on.
//
// With an untrusted clock the rules are evaluated at the decision time, which
// is the last trusted time (the latest moment known to have passed), and
// Verdict.At, the redemption and the event carry that time (the event's
// detail also records the wall clock). What each rule does then:
//
//	rule              untrusted_clock: last-known          untrusted_clock: reject
//	single / unlimited  unaffected (no time involved)       unaffected
//	cooldown          measured from the last trusted time;  rejected clock-untrusted if the
//	                  since redemptions made meanwhile are  code was used before; a first
//	                  stamped with that same time, a code   use is accepted
//	                  cannot re-enter until the clock is
//	                  trusted again (conservative)
//	valid_from/until  decided at the last trusted time:     every code rejected
//	                  a window that had ended stays ended   clock-untrusted while a window
//	                                                        is configured
//	expiresAt         decided at the last trusted time      codes with an expiresAt rejected
//	max_cache_age     age measured up to the last trusted   every cached code rejected
//	                  time (a lower bound of the real age)  clock-untrusted
//	anti-passback     unaffected (order, not time)          unaffected
//
// last-known therefore never admits anyone the kiosk would have refused at the
// last moment it knew the time (a property the tests check), and it keeps the
// door working after an offline reboot; reject is for venues that would
// rather stop than guess.
//
// Health(now) gives the pipeline the cache age, whether it is stale (never
// synced, or older than max_cache_age), the clock's trust and the record count,
// and Recording: whether this Verifier's last write of a redemption or event
// failed with none succeeding since (a full disk), which makes every valid
// code an error reject. It clears at the next write that succeeds; a write
// cut short by a cancelled context does not count.
package verify
