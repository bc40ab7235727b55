// Package store is the kiosk's memory: the cache of valid codes, the
// redemptions that opened the door, the outbox of events waiting for upload,
// the latest trustworthy time, and the sync's rotated refresh token — all in
// one bbolt file (go.etcd.io/bbolt), opened by one process at a time.
//
// # Codes are stored as hashes
//
// A code is a 64-hex bearer secret. The store keys everything by
// HashCode(code) = hex(sha256(code text)), which is also BitBadges' _docId,
// so records that arrive without their code still match. The code itself is
// never written: a stolen SD card yields hashes, which open nothing.
//
// # Buckets
//
//	meta             active snapshot name, last sync, count, server time,
//	                 source, trusted time, refresh token, outbox counters
//	snap.<seq>       one cache snapshot: sha256 (32 bytes) → record
//	owners.<seq>     its badge owners: collection 0x00 address → balances
//	                 (see owners.go); swapped with the codes by Commit
//	owners-online    online badge re-checks since the last Commit
//	redemptions      sha256 → RedemptionState (count, inside, last, last use);
//	                 kept across snapshots (one small entry per code ever used)
//	redeemed-nonces  redemption nonce → sha256 + time (idempotency), pruned
//	                 after Options.NonceRetention (30 days), once a day
//	events           8-byte sequence → Event JSON (the outbox, oldest first)
//	event-nonces     event nonce → sequence key (acks, idempotency)
//	visits           holder 0x00 period → the loyalty visits counted (visits.go)
//	visit-totals     period → visits and holders, for status
//
// # Snapshot swap
//
// A sync or an import never edits the serving cache. NewSnapshot creates a
// fresh snap.<seq> bucket that nothing reads; Put buffers records and writes
// them in bounded batches (Options.SnapshotBatch), one transaction each, so
// memory stays bounded while a million records stream in. Batches that
// arrive in ascending hash order (an import of an export) are appended to
// that bucket; any other batch becomes a sorted run in a snap.<seq>.runNNNN
// bucket, and Commit first merges everything, batch by batch, into
// snap.<seq>.merged (random inserts into a large B+tree would rewrite most of
// its pages on every batch). Commit then is one transaction that points
// meta.active at the new bucket, deletes the old one and records the sync's
// meta. Lookup reads meta.active and the record in the same read transaction,
// so it sees exactly the old or the new cache. A crash before Commit's
// transaction is durable leaves the old cache serving and orphan
// snap.<seq>… buckets, which Open deletes. Abort deletes them at once.
// While a sync runs, the file holds the old cache, the runs and the merged
// copy; their pages are freed afterwards and reused by the next sync, so the
// file grows to about three times the cache during a random-order sync and
// keeps that size (see BENCHMARKS.md).
//
// # Durability: what is fsync'd when
//
// Every write is a bbolt transaction, durable when it returns (bbolt fsyncs
// the data, then the meta page; a crash at any point rolls back to the last
// complete transaction).
//   - Redeem writes the redemption and its event in one transaction and
//     returns only after the fsync: call it before opening the door. A power
//     cut after the door opened cannot forget the redemption. A lone Redeem
//     or AppendEvent commits at once (one fsync, no batching delay); calls
//     that arrive while others are in flight are coalesced by DB.Batch into
//     one fsync (waiting at most 2 ms for company).
//   - AppendEvent (rejections and other events) is fsync'd the same way.
//   - Snapshot batches are fsync'd as they are written (cheap insurance; they
//     are not visible until Commit); Commit is one fsync'd transaction.
//   - ObserveTrustedTime and SetRefreshToken are fsync'd before returning, so
//     a rotated refresh token is durable before the sync uses it.
//
// Options.NoSync turns all of that off; it exists for tests.
//
// # The outbox
//
// Events wait in the outbox until the uploader acknowledges them by nonce
// (AckEvents). It holds at most Options.MaxPendingEvents: when full, appending
// drops the oldest event and adds one to a persisted counter (DroppedEvents),
// in the same transaction, so the outbox never grows without bound on a kiosk
// that is offline for weeks, and the loss is visible. Otherwise an event
// leaves only when acknowledged, or by DropEvents (an operator's
// `kioskd events drop`).
//
// # The trusted clock
//
// A Pi has no real-time clock. The store keeps a floor: the latest time known
// to have passed (server Date headers, completed syncs, imports); a wall
// clock earlier than that is known to be wrong. The store only keeps the
// time: package verify decides what an untrusted clock means.
//
// Nothing may lock the floor in the future, because nothing but an operator
// can lower it (a floor in 2100 makes the clock untrusted and every time rule
// judged in 2100 until the state is wiped). So one observation may move it at
// most to the bound: the floor, plus the time this process has measured since
// the floor was set or loaded (monotonic), plus Options.ClockStep (a day);
// with no floor yet, the device's clock plus a day.
//   - ObserveServerTime (a Date of a successful API answer) beyond the bound
//     is ignored.
//   - A sync's Commit beyond the bound commits the cache but only holds its
//     time as a pending jump (meta clock_pending, with the device's clock
//     then). The next sync whose server time advanced as much as the device's
//     clock since (within Options.ClockAgreement, 5 min) confirms it: two
//     agreeing syncs are believed, so a kiosk whose floor is weeks old (it
//     was stored away, rebooted without network) catches up at its second
//     sync, while one bad answer moves nothing. A sync within the bound
//     clears a held jump.
//   - An import's time is bounded the same way but never held nor confirmed:
//     a file proves nothing about the present, twice no more than once.
//   - The LastSync of a time not taken is cut to the later of the floor plus
//     the elapsed time and the device's clock, so such a cache still ages.
//
// ObserveTrustedTime is unbounded: its caller vouches for the time.
// ResetClock is the operator's way out (kioskd clock reset): it clears the
// floor (or sets a given one) and any held jump, keeps the cache and every
// redemption, and pulls times stamped later than the device's clock
// (LastSync, redemption times) back to it.
//
// # A damaged file
//
// bbolt trusts its file: a damaged page makes it panic deep inside, fault
// past its memory map or loop for ever. Open therefore reads the meta pages
// and checks the file size itself, then walks every bucket's pages with
// plain reads, checking each pointer before bbolt may follow it (raw.go),
// and refuses a damaged file with ErrDamaged; it also refuses a missing
// file where MarkerPath shows a store was created (an empty store would
// forget every redemption). While running, every bbolt call is guarded
// (guard.go): a panic becomes ErrFailed, and the store refuses everything
// after it. Check reports on a file without changing it; Recover copies
// what is readable into a fresh store, redemptions and the outbox first.
//
// # Provisioning
//
// Export writes the serving cache as a portable file (hashes and record
// fields, a header with the count, a sha256 trailer); Import streams such a
// file into a Snapshot and commits only if the whole file checks out, so a
// truncated or corrupt USB stick leaves the old cache serving.
package store
