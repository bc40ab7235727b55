// Package handoff hands each verdict over to a local receiver, a till or a
// loyalty service, through outputs of a few kinds (output/webhook: an HTTPS
// POST signed with HMAC-SHA256; output/mqtt: a QoS 1 publish), from a
// durable queue, without ever delaying the door.
//
// # What is handed over
//
// A Payload (payload.go; its JSON Schema is in docs/integrations.md): the
// kiosk, the input that saw the code, the verdict and its reason, the time,
// the holder's BitBadges address and a per-event id. Never the code, nor its
// hash: a receiver needs an identity, not a credential. Delivery is
// at-least-once: a receiver deduplicates on the id (also the webhook's
// Idempotency-Key header), which every output of the kiosk shares for one
// verdict.
//
// # The path of a verdict
//
//   - Hand is called on the scan lane after the outputs (relay, LEDs) have
//     been driven. It encodes the payload and passes it to the Hub's writer
//     goroutine over a buffered channel, never waiting: when the buffer is
//     full (the store stalled for seconds) the message is dropped and
//     counted, the door is not held. Its cost is measured by
//     BenchmarkHand and BenchmarkVerdict; what the queue's store writes
//     cost the durable redemption by BenchmarkRedeemWithHandoff.
//   - The writer appends what has arrived to each output's queue in the
//     store (store.HandoffAppend), in one fsync'd transaction per batch, and
//     wakes the outputs' deliverers. A message handed over in the last
//     milliseconds before a power cut can be lost; one in the queue cannot.
//   - Each output has one deliverer goroutine sending its queue oldest first.
//     A message leaves the queue only when the receiver acknowledged it (2xx,
//     PUBACK) or refused it for good (Permanent: a 4xx other than 408 and
//     429); any other failure is retried after a backoff with jitter (the
//     sync's), or after the receiver's Retry-After when longer.
//
// # Bounds
//
// Each queue holds at most Output.MaxQueued messages: when full the oldest
// is dropped and counted (store.HandoffAppend). A till is better served by
// the customers of now than by those of three days ago, and a kiosk offline
// for a week must not fill its SD card; the loss shows in Status.Dropped and
// the metrics. Outputs are independent: a dead webhook holds back only its
// own queue.
//
// # Health
//
// A receiver that fails or answers slowly is a status problem (Problem), not
// a stall: the door keeps its pace, the queue keeps the messages. Status
// gives per output what is queued, delivered, refused and dropped, the last
// error (never a secret: senders keep URLs' credentials and queries out of
// their errors) and the time of the next attempt.
package handoff
