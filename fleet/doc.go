// Package fleet lets the kiosks of one venue share their redemptions over an
// MQTT v5 broker (Mosquitto, or a clustered EMQX, VerneMQ or HiveMQ when a
// venue outgrows one box), so that a code used at door A is rejected at door
// B as soon as any link between them exists, and a double entry that
// happened during a partition is found and reported when they reconnect.
//
// # Model
//
// Each kiosk decides alone, always: the fleet never sits between a scan and
// the door. It only keeps every kiosk's ledger (package store) up to date
// with the others', from the side:
//
//   - Out: store.Redeem queues each local redemption in the store's fleet
//     outbox, in the same fsync'd transaction that records it. Run publishes
//     the outbox (QoS 1) and removes an item only after the broker's PUBACK.
//     The fleet outbox is separate from the events outbox that the HTTPS
//     uploader drains, so neither consumer takes events from the other.
//   - In: a peer's redemption is applied to the ledger by code hash (a code
//     never travels), idempotently by its nonce, in one fsync'd transaction
//     before the message is acknowledged; verify then treats it like a local
//     one (single use, cooldown, anti-passback).
//   - Persistent session: the client connects with Clean Start off and a
//     session expiry (fleet.session_expiry), so the broker queues what peers
//     publish while this kiosk is away and delivers it when it is back.
//     Mosquitto keeps sessions across its own restarts with persistence on.
//
// With no broker configured nothing of this exists (assembly.OpenFleet returns nil
// and the store grows no fleet buckets). A kiosk whose config loses its
// broker stops queueing, but keeps the redemptions it never published (a
// reload with a slip must not let other doors accept those codes again):
// the broker back in the config publishes them, `kioskd fleet drop`
// (store.DropFleetOutbox) discards them on purpose, and until then status
// reports them. With the broker down, kiosks keep deciding locally; the
// outbox and the broker's sessions catch them up.
//
// # Double entries
//
// Offline, two kiosks can both accept one single-use code. When the second
// kiosk's redemption reaches the first, ApplyPeerRedemption finds the
// conflict (the venue's policy decides what conflicts: see ConflictRule) and
// records one DoubleEntry per pair of uses, with both kiosks and times, plus
// a "double-entry" event for upload. Each kiosk involved reports it once,
// however often the message is delivered; kiosks not involved apply both
// redemptions and report nothing. The two kiosks' events have distinct
// nonces (a receiver deduplicating on nonces keeps both) and share an
// "incident" id, the pair's key, which tells the receiver they are one
// incident. OnDoubleEntry is the hook for the metric;
// Status().Lines() gives the line for `kioskd status`.
//
// # Topics and messages
//
//	<prefix>/redemption/<kiosk>  {"v":1,"kiosk":..,"hash":..,"at":..,"dir":..,"nonce":..}
//	<prefix>/status/<kiosk>      retained {"v":1,"kiosk":..,"state":"online"|"offline","at":..}
//	<prefix>/visit/<kiosk>       {"v":1,"kiosk":..,"holder":..,"at":..,"id":..} (policy.visits; visits.go)
//
// The status is refreshed every fleet.status_interval; the last will (and a
// clean shutdown) set it to "offline", so an operator subscribed to
// <prefix>/status/+ sees the whole fleet. Messages are parsed strictly; a
// malformed or foreign one (wrong version, unknown field, a kiosk publishing
// on another's topic, a hash that is not 64 lowercase hex) is dropped and
// counted (Status().Ignored), never applied.
//
// # Broker set-up
//
// One user per venue (or per kiosk) with an ACL limited to the venue's
// prefix; credentials in fleet.credentials_file as "username:password" on
// one line, or YAML with the keys username and password. Use mqtts:// beyond
// one switch; the certificate is always verified (fleet.ca_file for a
// venue's own CA). In mosquitto.conf, set "persistence true" (queued
// messages survive a broker restart), "max_queued_messages 0" or a bound
// above a partition's worth of redemptions (the default, 1000, would drop
// the rest for a kiosk that was away), and "set_tcp_nodelay true" (without
// it, propagation p50 measured 8 ms instead of 0.3 ms: BENCHMARKS.md).
package fleet
