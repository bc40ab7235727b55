package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/kioskd/kioskd/store"
)

// Loyalty visits (policy.visits) travel on their own topic,
//
//	<prefix>/visit/<kiosk>   {"v":1,"kiosk":..,"holder":..,"at":..,"id":..}
//
// published with the redemption that counted the visit (the same outbox
// item, removed only once both were acknowledged), and applied by the
// other kiosks to the holder's set of visits by id (store.ApplyPeerVisits),
// so repeats and backlogs after a partition count once. A separate topic
// keeps the redemption message as it was: kiosks of an older version,
// which parse redemptions strictly, neither receive nor refuse visits. A
// kiosk without a visit counter does not subscribe to them.
const segVisit = "visit"

// visitMsg is one counted visit on the wire: the holder's address, never a code.
type visitMsg struct {
	V      int       `json:"v"`
	Kiosk  string    `json:"kiosk"`
	Holder string    `json:"holder"`
	At     time.Time `json:"at"`
	ID     string    `json:"id"`
}

// VisitStatus is the visits' part of Status.
type VisitStatus struct {
	// Enabled: this kiosk counts visits and takes its peers'.
	Enabled bool
	// Published local visits; Applied peer visits new here; Repeats of
	// peer visits already known.
	Published, Applied, Repeats uint64
}

type visitCounters struct {
	published, applied, repeats atomic.Uint64
}

// VisitStore is what the fleet needs of the store for visits, beside
// Store (*store.Store has it).
type VisitStore interface {
	ApplyPeerVisits(ctx context.Context, vs []store.VisitEvent, rule store.VisitRule) ([]bool, error)
}

var _ VisitStore = (*store.Store)(nil)

// visitStore is the store's visit side; nil without a counter, or with a
// store that cannot count (then visits are not subscribed to).
func (f *Fleet) visitStore() VisitStore {
	vs, ok := f.o.Store.(VisitStore)
	if !ok || !f.visitRule.Enabled() {
		return nil
	}
	return vs
}

func encodeVisit(r store.Redemption) ([]byte, error) {
	return json.Marshal(visitMsg{V: wireVersion, Kiosk: r.Kiosk, Holder: r.Holder, At: r.At.UTC(), ID: r.Nonce})
}

func decodeVisit(topicKiosk string, payload []byte) (store.VisitEvent, error) {
	var m visitMsg
	if err := strictJSON(payload, &m); err != nil {
		return store.VisitEvent{}, err
	}
	switch {
	case m.V != wireVersion:
		return store.VisitEvent{}, fmt.Errorf("%w: version %d", errForeign, m.V)
	case m.Kiosk != topicKiosk:
		return store.VisitEvent{}, fmt.Errorf("%w: kiosk %q published on the topic of %q", errForeign, m.Kiosk, topicKiosk)
	case !isAddress(m.Holder):
		return store.VisitEvent{}, fmt.Errorf("%w: holder is not an address", errForeign)
	case !isNonce(m.ID):
		return store.VisitEvent{}, fmt.Errorf("%w: bad visit id", errForeign)
	case m.At.IsZero():
		return store.VisitEvent{}, fmt.Errorf("%w: no time", errForeign)
	}
	return store.VisitEvent{ID: m.ID, Holder: m.Holder, Kiosk: m.Kiosk, At: m.At.UTC()}, nil
}

// isAddress accepts the addresses records carry (bb1… bech32, 0x… hex,
// base58): letters and digits, at most 128.
func isAddress(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

func (f *Fleet) visitSubscriptions() []paho.SubscribeOptions {
	if f.visitStore() == nil {
		return nil
	}
	return []paho.SubscribeOptions{{Topic: f.o.TopicPrefix + "/" + segVisit + "/+", QoS: f.o.QoS, NoLocal: true}}
}

// publishVisit publishes the visit a local redemption counted, if any.
func (f *Fleet) publishVisit(ctx context.Context, cm *autopaho.ConnectionManager, r store.Redemption) error {
	if r.Holder == "" {
		return nil
	}
	payload, err := encodeVisit(r)
	if err != nil {
		return fmt.Errorf("encoding visit: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := cm.Publish(pctx, &paho.Publish{QoS: f.o.QoS, Topic: f.topic(segVisit, r.Kiosk), Payload: payload})
	if err != nil {
		return fmt.Errorf("publishing visit: %w", err)
	}
	if resp != nil && resp.ReasonCode >= 0x80 {
		return fmt.Errorf("publishing visit: broker answered reason code 0x%02x", resp.ReasonCode)
	}
	f.visitCount.published.Add(1)
	return nil
}

// receiveVisit handles a message on a visit topic and reports whether it
// was one. A peer's visit is acknowledged only once it is durable here; a
// store that fails is retried (the broker holds later messages meanwhile),
// as the applier does for redemptions.
func (f *Fleet) receiveVisit(ctx context.Context, pr paho.PublishReceived) bool {
	seg, kiosk, ok := splitTopic(f.o.TopicPrefix, pr.Packet.Topic)
	if !ok || seg != segVisit {
		return false
	}
	if kiosk == f.o.Kiosk {
		f.ignore(pr.Packet.Topic, fmt.Errorf("%w: another client publishes as this kiosk", errForeign))
		f.ack(pr)
		return true
	}
	vst := f.visitStore()
	if vst == nil {
		f.ack(pr) // subscribed under an earlier configuration
		return true
	}
	v, err := decodeVisit(kiosk, pr.Packet.Payload)
	if err != nil {
		f.ignore(pr.Packet.Topic, err)
		f.ack(pr)
		return true
	}
	f.seen(kiosk, f.o.Now(), false)
	for {
		added, err := vst.ApplyPeerVisits(ctx, []store.VisitEvent{v}, f.visitRule)
		if err == nil {
			if added[0] {
				f.visitCount.applied.Add(1)
			} else {
				f.visitCount.repeats.Add(1)
			}
			f.ack(pr)
			if f.o.OnPeerVisit != nil {
				f.o.OnPeerVisit(v, added[0])
			}
			return true
		}
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return true // not acknowledged: the session redelivers it
		}
		f.log.Error("applying a peer visit; retrying", "err", err)
		select {
		case <-ctx.Done():
			return true
		case <-time.After(time.Second):
		}
	}
}

func (f *Fleet) visitStatus() VisitStatus {
	return VisitStatus{Enabled: f.visitRule.Enabled(), Published: f.visitCount.published.Load(),
		Applied: f.visitCount.applied.Load(), Repeats: f.visitCount.repeats.Load()}
}
