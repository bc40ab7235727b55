package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// Values are compact binary, versioned by their first byte, so a 1M-code
// cache stays small on an SD card and decodes without reflection.

const (
	recordV1 = 1
	stateV1  = 1
	// maxField bounds any string field in a record or a snapshot file.
	maxField = 1024
)

var errCorrupt = errors.New("corrupt value")

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func timeMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func timeNs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func appendString(b []byte, s string) []byte {
	if len(s) > maxField {
		s = s[:maxField]
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes the fields appended by the functions above; the first
// failure sticks, so callers check err once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = errCorrupt
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > maxField || n > uint64(len(r.b)) {
		r.err = errCorrupt
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// appendRecordBody encodes a record without its hash (the hash is the key).
func appendRecordBody(b []byte, r Record) []byte {
	b = binary.AppendVarint(b, timeMs(r.CreatedAt))
	b = binary.AppendVarint(b, timeMs(r.ExpiresAt))
	b = appendString(b, r.Address)
	b = appendString(b, r.Chain)
	return appendString(b, r.Name)
}

func (r *reader) recordBody() Record {
	var rec Record
	rec.CreatedAt = msTime(r.varint())
	rec.ExpiresAt = msTime(r.varint())
	rec.Address = r.string()
	rec.Chain = r.string()
	rec.Name = r.string()
	return rec
}

// encodeRecord is the stored form: the version, the body, and, when the
// record's bitbadgesAddress differs from its address (a non-Cosmos chain),
// that address as an optional tail. The snapshot file carries only the body
// (see recordBody): an imported cache joins badge owners on Address.
func encodeRecord(b []byte, r Record) []byte {
	b = append(b, recordV1)
	b = appendRecordBody(b, r)
	if r.BitBadgesAddress != "" && r.BitBadgesAddress != r.Address {
		b = appendString(b, r.BitBadgesAddress)
	}
	return b
}

func decodeRecord(v []byte) (Record, error) {
	r := reader{b: v}
	if r.byte() != recordV1 {
		return Record{}, errCorrupt
	}
	rec := r.recordBody()
	if r.err == nil && len(r.b) != 0 {
		rec.BitBadgesAddress = r.string()
	}
	if r.err != nil || len(r.b) != 0 {
		return Record{}, errCorrupt
	}
	return rec, nil
}

// recordBody is the body of a stored record (after its version byte)
// without the optional tail, as the snapshot file carries it.
func recordBody(v []byte) ([]byte, error) {
	r := reader{b: v}
	r.recordBody()
	if r.err != nil {
		return nil, errCorrupt
	}
	return v[:len(v)-len(r.b)], nil
}

func appendRedemption(b []byte, x Redemption) []byte {
	b = binary.AppendVarint(b, timeNs(x.At))
	b = appendString(b, x.Kiosk)
	b = appendString(b, x.Direction)
	b = appendString(b, x.Nonce)
	if x.Peer {
		return append(b, 1)
	}
	return append(b, 0)
}

func (r *reader) redemption() Redemption {
	var x Redemption
	x.At = nsTime(r.varint())
	x.Kiosk = r.string()
	x.Direction = r.string()
	x.Nonce = r.string()
	x.Peer = r.byte() == 1
	return x
}

func encodeState(st RedemptionState) []byte {
	b := []byte{stateV1}
	b = binary.AppendUvarint(b, st.Count)
	if st.Inside {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendRedemption(b, st.Last)
	return appendRedemption(b, st.LastUse)
}

func decodeState(v []byte) (RedemptionState, error) {
	r := reader{b: v}
	if r.byte() != stateV1 {
		return RedemptionState{}, errCorrupt
	}
	var st RedemptionState
	st.Count = r.uvarint()
	st.Inside = r.byte() == 1
	st.Last = r.redemption()
	st.LastUse = r.redemption()
	if r.err != nil || len(r.b) != 0 {
		return RedemptionState{}, errCorrupt
	}
	return st, nil
}
