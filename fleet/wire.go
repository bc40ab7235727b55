package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kioskd/kioskd/store"
)

// Wire format. Topics under the venue's prefix:
//
//	<prefix>/redemption/<kiosk>   one local redemption, QoS 1, not retained
//	<prefix>/status/<kiosk>       retained "online"/"offline" (the last will)
//
// Payloads are small JSON objects with a version field "v"; a receiver drops
// (and counts) anything it does not fully understand rather than guess.

const wireVersion = 1

// Topic segments under the prefix.
const (
	segRedemption = "redemption"
	segStatus     = "status"
)

// redemptionMsg is one redemption on the wire: a code hash, never a code.
type redemptionMsg struct {
	V     int       `json:"v"`
	Kiosk string    `json:"kiosk"`
	Hash  string    `json:"hash"`
	At    time.Time `json:"at"`
	Dir   string    `json:"dir,omitempty"`
	Nonce string    `json:"nonce"`
}

// statusMsg is a kiosk's retained presence.
type statusMsg struct {
	V     int       `json:"v"`
	Kiosk string    `json:"kiosk"`
	State string    `json:"state"` // "online" or "offline"
	At    time.Time `json:"at"`
}

const (
	stateOnline  = "online"
	stateOffline = "offline"
)

var errForeign = errors.New("not a kioskd fleet message")

func encodeRedemption(r store.Redemption) ([]byte, error) {
	return json.Marshal(redemptionMsg{V: wireVersion, Kiosk: r.Kiosk, Hash: r.Hash, At: r.At.UTC(), Dir: r.Direction, Nonce: r.Nonce})
}

// maxPayload bounds what a receiver will parse: real messages are ~200 bytes.
const maxPayload = 4096

// decodeRedemption parses and checks a redemption published by topicKiosk.
func decodeRedemption(topicKiosk string, payload []byte) (store.Redemption, error) {
	var m redemptionMsg
	if err := strictJSON(payload, &m); err != nil {
		return store.Redemption{}, err
	}
	switch {
	case m.V != wireVersion:
		return store.Redemption{}, fmt.Errorf("%w: version %d", errForeign, m.V)
	case m.Kiosk != topicKiosk:
		return store.Redemption{}, fmt.Errorf("%w: kiosk %q published on the topic of %q", errForeign, m.Kiosk, topicKiosk)
	case !isHash(m.Hash):
		return store.Redemption{}, fmt.Errorf("%w: hash is not 64 lowercase hex", errForeign)
	case !isNonce(m.Nonce):
		return store.Redemption{}, fmt.Errorf("%w: bad nonce", errForeign)
	case m.At.IsZero():
		return store.Redemption{}, fmt.Errorf("%w: no time", errForeign)
	case m.Dir != "" && m.Dir != store.DirEntry && m.Dir != store.DirExit:
		return store.Redemption{}, fmt.Errorf("%w: direction %q", errForeign, m.Dir)
	}
	return store.Redemption{Hash: m.Hash, At: m.At.UTC(), Kiosk: m.Kiosk, Direction: m.Dir, Nonce: m.Nonce, Peer: true}, nil
}

func encodeStatus(kiosk, state string, at time.Time) []byte {
	b, _ := json.Marshal(statusMsg{V: wireVersion, Kiosk: kiosk, State: state, At: at.UTC()})
	return b
}

func decodeStatus(topicKiosk string, payload []byte) (statusMsg, error) {
	var m statusMsg
	if err := strictJSON(payload, &m); err != nil {
		return statusMsg{}, err
	}
	if m.V != wireVersion || m.Kiosk != topicKiosk || (m.State != stateOnline && m.State != stateOffline) {
		return statusMsg{}, fmt.Errorf("%w: bad status", errForeign)
	}
	return m, nil
}

func strictJSON(payload []byte, v any) error {
	if len(payload) > maxPayload {
		return fmt.Errorf("%w: %d-byte payload", errForeign, len(payload))
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errForeign, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", errForeign)
	}
	return nil
}

// splitTopic returns the segment ("redemption"/"status") and kiosk of a
// topic under prefix.
func splitTopic(prefix, topic string) (seg, kiosk string, ok bool) {
	rest, found := strings.CutPrefix(topic, prefix+"/")
	if !found {
		return "", "", false
	}
	seg, kiosk, found = strings.Cut(rest, "/")
	if !found || kiosk == "" || strings.Contains(kiosk, "/") {
		return "", "", false
	}
	return seg, kiosk, true
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isNonce(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// validKioskID reports whether id can be one topic level.
func validKioskID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.ContainsAny(id, "/+#\x00")
}
