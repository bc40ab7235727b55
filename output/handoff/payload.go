package handoff

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/verify"
)

// Version is the payload's schema version (the "v" field). A new optional
// field keeps it; a change a receiver must know about bumps it.
const Version = 1

// Inputs that hand verdicts over.
const (
	InputCamera  = "camera"  // the scan lane
	InputDisplay = "display" // a display-mode sign-in
)

// Payload is what a receiver gets for one verdict: the JSON body of a
// webhook POST, the payload of an MQTT message. It never holds the code.
type Payload struct {
	V int `json:"v"`
	// ID is unique per verdict (128 random bits, hex): the idempotency key,
	// the verdict's event nonce (verify.Verdict.Nonce).
	ID    string `json:"id"`
	Kiosk string `json:"kiosk"`
	// Input is what saw the code (InputCamera, InputDisplay, ...).
	Input string `json:"input"`
	// Time is when the verdict was taken (the kiosk's trusted time).
	Time time.Time `json:"time"`
	// Verdict is "accept" or "reject"; Reason its reason's stable name
	// (verify.Reason: ok, already-used, unknown, ...).
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	// Holder identifies the code's holder; nil when the code is unknown or
	// not a code at all.
	Holder *Holder `json:"holder,omitempty"`
	// Online: confirmed by an online exchange with BitBadges.
	Online bool `json:"online,omitempty"`
	// Warning: accepted despite a fault the venue allows (stale cache, clock).
	Warning string `json:"warning,omitempty"`
	// Requirement names the access requirement met or failed, if any.
	Requirement string `json:"requirement,omitempty"`
	// Visit is the holder's visit count under a loyalty policy; nil when the
	// venue counts no visits.
	Visit *Visit `json:"visit,omitempty"`
}

// Holder is who presented the code, as the record in the cache names them.
type Holder struct {
	// BitBadgesAddress (bb1…) is the stable identity to key a customer on.
	BitBadgesAddress string `json:"bitbadges_address"`
	// Address is the holder's native address (0x… on ETH, bb1… on Cosmos).
	Address string `json:"address,omitempty"`
	// Name is the code's display name from its record.
	Name string `json:"name,omitempty"`
}

// Visit is a loyalty count (policy.visits, shared by the kiosk fleet):
// this is visit Count of the holder in Period, the period's key ("2026-12"
// a month, "2026-W49" an ISO week, "2026-12-03" a day, "all" for ever).
// Counted is false for a scan within the venue's cooldown, which belongs to
// visit Count rather than starting a new one.
type Visit struct {
	Count   int    `json:"count"`
	Period  string `json:"period"`
	Counted bool   `json:"counted"`
}

// FromVerdict builds the payload of one verdict. Its id is the verdict's
// event nonce, so every output, and the event upload, name the verdict
// alike; a verdict without one (a dry run) gets a new id.
func FromVerdict(kiosk, input string, v verify.Verdict) Payload {
	id := v.Nonce
	if id == "" {
		id = store.NewNonce()
	}
	p := Payload{V: Version, ID: id, Kiosk: kiosk, Input: input, Time: v.At.UTC(),
		Verdict: "reject", Reason: v.Reason.String(), Online: v.Online, Warning: v.Warning, Requirement: v.Requirement}
	if v.Accept {
		p.Verdict = "accept"
	}
	if v.Holder != "" || v.Address != "" {
		p.Holder = &Holder{BitBadgesAddress: v.Holder, Address: v.Address, Name: v.Name}
	}
	if v.Visit > 0 {
		p.Visit = &Visit{Count: v.Visit, Period: v.VisitPeriod, Counted: v.VisitCounted}
	}
	return p
}

// Encode is the payload's JSON.
func (p Payload) Encode() ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding hand-off payload: %w", err)
	}
	return b, nil
}

// payloadID reads the id of an encoded payload.
func payloadID(body []byte) (string, error) {
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return "", fmt.Errorf("reading queued payload: %w", err)
	}
	if head.ID == "" {
		return "", errors.New("reading queued payload: no id")
	}
	return head.ID, nil
}
