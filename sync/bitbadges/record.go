package bitbadges

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// Record is one authentication code from the pre-fetch, as the kiosk needs
// it. Code may be empty (the 2024 server left it out); DocID is always set.
//
// Record's String, GoString and LogValue leave Code out, so printing or
// logging a Record never leaks the secret.
type Record struct {
	DocID            string // hex sha256 of the code's 64-character text, lowercase
	ID               string // database id, the pagination bookmark
	Code             string // the 64-hex secret, or "" when the server left it out
	BitBadgesAddress string // bb1… (cosmosAddress on older servers)
	Address          string // the user's native address
	Chain            string
	Name             string    // describes the request, not the person
	CreatedAt        time.Time // zero when absent
	ExpiresAt        time.Time // zero = never
}

func (r Record) String() string {
	return fmt.Sprintf("record %s (%s %s)", shortHash(r.DocID), r.Chain, r.Address)
}

// GoString keeps %#v from printing the code.
func (r Record) GoString() string { return r.String() }

// LogValue keeps slog from printing the code.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(slog.String("hash", shortHash(r.DocID)), slog.String("chain", r.Chain))
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// HashCode is the hex sha256 of a code's text: BitBadges' _docId.
func HashCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// Page is one decoded pre-fetch page before its records are checked.
type Page struct {
	Records  []json.RawMessage
	Bookmark string
	HasMore  bool
}

type wirePage struct {
	SIWBBRequests *[]json.RawMessage `json:"siwbbRequests"`
	Pagination    *struct {
		Bookmark flexString `json:"bookmark"`
		HasMore  *flexBool  `json:"hasMore"`
	} `json:"pagination"`
}

// ParsePage decodes a pre-fetch response body. A body that is not JSON or
// lacks siwbbRequests or pagination.hasMore is ErrMalformed: a page that
// cannot be trusted fails the whole pre-fetch.
func ParsePage(body []byte) (Page, error) {
	var w wirePage
	if err := json.Unmarshal(body, &w); err != nil {
		return Page{}, fmt.Errorf("%w: page: %s", ErrMalformed, jsonProblem(err))
	}
	if w.SIWBBRequests == nil {
		return Page{}, fmt.Errorf("%w: page has no siwbbRequests list", ErrMalformed)
	}
	if w.Pagination == nil || w.Pagination.HasMore == nil {
		return Page{}, fmt.Errorf("%w: page has no pagination.hasMore", ErrMalformed)
	}
	return Page{
		Records:  *w.SIWBBRequests,
		Bookmark: string(w.Pagination.Bookmark),
		HasMore:  bool(*w.Pagination.HasMore),
	}, nil
}

// jsonProblem describes a JSON error without quoting the input (which may
// hold a code).
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has JSON type %s", te.Field, te.Value)
	case err.Error() == "unexpected end of JSON input":
		return "truncated JSON"
	}
	return "invalid JSON"
}

type wireRecord struct {
	DocID            string     `json:"_docId"`
	ID               flexString `json:"_id"`
	Code             *string    `json:"code"`
	BitBadgesAddress string     `json:"bitbadgesAddress"`
	CosmosAddress    string     `json:"cosmosAddress"`
	Address          string     `json:"address"`
	Chain            string     `json:"chain"`
	Name             string     `json:"name"`
	ExpiresAt        flexMillis `json:"expiresAt"`
	CreatedAt        flexMillis `json:"createdAt"`
	DeletedAt        flexMillis `json:"deletedAt"`
}

// errDeleted marks a soft-deleted record: skipped, not malformed.
var errDeleted = errors.New("deleted")

// ParseRecord checks one raw record. It returns errDeleted (via IsDeleted)
// for a soft-deleted record and an ErrMalformed error for one that cannot be
// matched. The error never quotes the record.
func ParseRecord(raw json.RawMessage) (Record, error) {
	var w wireRecord
	if err := json.Unmarshal(raw, &w); err != nil {
		return Record{}, fmt.Errorf("%w: record: %s", ErrMalformed, jsonProblem(err))
	}
	return w.check()
}

// check validates a decoded record; see ParseRecord.
func (w *wireRecord) check() (Record, error) {
	if !w.DeletedAt.IsZero() {
		return Record{}, errDeleted
	}
	doc := lowerHex(w.DocID)
	if doc != "" && !isHex(doc, 64) {
		return Record{}, fmt.Errorf("%w: record: _docId is not 64 hex characters", ErrMalformed)
	}
	r := Record{DocID: doc, ID: string(w.ID), Chain: w.Chain, Name: w.Name,
		CreatedAt: w.CreatedAt.Time(), ExpiresAt: w.ExpiresAt.Time()}
	if w.Code != nil && *w.Code != "" {
		code := *w.Code
		if !isHex(code, 64) {
			return Record{}, fmt.Errorf("%w: record: code is not 64 hex characters", ErrMalformed)
		}
		h := HashCode(code)
		// A code sent in upper case may carry the hash of its lower-case
		// text (what a scan is looked up by): the same code, not a forgery.
		if doc != "" && doc != h && doc != HashCode(strings.ToLower(code)) {
			return Record{}, fmt.Errorf("%w: record: _docId is not the sha256 of its code", ErrMalformed)
		}
		r.Code, r.DocID = code, h
	}
	if r.DocID == "" {
		return Record{}, fmt.Errorf("%w: record has neither code nor _docId", ErrMalformed)
	}
	r.BitBadgesAddress = w.BitBadgesAddress
	if r.BitBadgesAddress == "" {
		r.BitBadgesAddress = w.CosmosAddress
	}
	r.Address = w.Address
	if r.Address == "" {
		r.Address = r.BitBadgesAddress
	}
	return r, nil
}

// decodedPage is a page decoded by decodePage.
type decodedPage struct {
	records  []wireRecord // decoded, not yet checked
	bad      []error      // records that did not even decode
	count    int          // records on the page, good and bad
	bookmark string
	hasMore  bool
}

// parsePage is decodePage on a body in memory, with the default bound.
func parsePage(body []byte) (decodedPage, error) {
	return decodePage(bytes.NewReader(body), DefaultMaxPageRecords)
}

// decodePage reads a page from r as a stream, one record at a time, and
// stops with ErrTooLarge at the first record past maxRecords: a 4 MiB body
// of 1.4 million "{}" records once took 600 MB decoded whole. It accepts
// what ParsePage accepts (fields in any order, unknown fields skipped, keys
// matched regardless of case, the last of a repeated key wins), and as
// there, a record that does not decode is skipped alone while a page that is
// not JSON, or lacks its list or pagination.hasMore, is ErrMalformed.
func decodePage(r io.Reader, maxRecords int) (decodedPage, error) {
	rd := &readErr{r: r}
	dec := json.NewDecoder(rd)
	if err := expectDelim(dec, rd, '{'); err != nil {
		return decodedPage{}, err
	}
	var d decodedPage
	var list bool
	var pag *wirePagination
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodedPage{}, pageErr(err, rd)
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "siwbbRequests"):
			d.records, d.bad, d.count = d.records[:0], nil, 0
			if list, err = decodeRecords(dec, rd, &d, maxRecords); err != nil {
				return decodedPage{}, err
			}
		case strings.EqualFold(key, "pagination"):
			if err := dec.Decode(&pag); err != nil {
				return decodedPage{}, pageErr(err, rd)
			}
		default:
			if err := dec.Decode(&skipValue{}); err != nil {
				return decodedPage{}, pageErr(err, rd)
			}
		}
	}
	if err := expectDelim(dec, rd, '}'); err != nil {
		return decodedPage{}, err
	}
	// Nothing may follow the page, as json.Unmarshal requires.
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return decodedPage{}, fmt.Errorf("%w: page: data after the JSON object", ErrMalformed)
		}
		return decodedPage{}, pageErr(err, rd)
	}
	if !list {
		return decodedPage{}, fmt.Errorf("%w: page has no siwbbRequests list", ErrMalformed)
	}
	if pag == nil || pag.HasMore == nil {
		return decodedPage{}, fmt.Errorf("%w: page has no pagination.hasMore", ErrMalformed)
	}
	d.bookmark, d.hasMore = string(pag.Bookmark), bool(*pag.HasMore)
	return d, nil
}

type wirePagination struct {
	Bookmark flexString `json:"bookmark"`
	HasMore  *flexBool  `json:"hasMore"`
}

// decodeRecords reads the siwbbRequests value into d; it reports false for
// null (as if the list were absent).
func decodeRecords(dec *json.Decoder, rd *readErr, d *decodedPage, maxRecords int) (bool, error) {
	return decodeList(dec, rd, "siwbbRequests", "records", maxRecords, func(w *wireRecord, err error) {
		d.count++
		if err != nil {
			// The value was read whole; only its content is wrong.
			d.bad = append(d.bad, fmt.Errorf("%w: record: %s", ErrMalformed, jsonProblem(err)))
			return
		}
		d.records = append(d.records, *w)
	})
}

// decodeList reads a page's list field, one element at a time, handing
// add each element and the error of one whose content is wrong (read
// whole: the stream goes on). It reports false for null (as if the list
// were absent), and refuses more than maxRecords elements (what is the
// plural the error names them by).
func decodeList[T any](dec *json.Decoder, rd *readErr, field, what string, maxRecords int, add func(*T, error)) (bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return false, pageErr(err, rd)
	}
	if tok == nil {
		return false, nil
	}
	if tok != json.Delim('[') {
		return false, fmt.Errorf("%w: page: %s is not a list", ErrMalformed, field)
	}
	for n := 0; dec.More(); n++ {
		if n == maxRecords {
			return false, fmt.Errorf("%w: page holds more than %d %s (BitBadges sends 25)", ErrTooLarge, maxRecords, what)
		}
		var v T
		err := dec.Decode(&v)
		if fatalJSON(err, rd) {
			return false, pageErr(err, rd)
		}
		add(&v, err)
	}
	if _, err := dec.Token(); err != nil { // ]
		return false, pageErr(err, rd)
	}
	return true, nil
}

// expectDelim reads one token that must be delim.
func expectDelim(dec *json.Decoder, rd *readErr, delim json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return pageErr(err, rd)
	}
	if tok != delim {
		return fmt.Errorf("%w: page is not a JSON object", ErrMalformed)
	}
	return nil
}

// fatalJSON reports a decoder error after which the stream cannot go on (a
// syntax error, the end of the body, a read error), as opposed to a value
// that was read whole but does not fit its type (a record skipped alone).
func fatalJSON(err error, rd *readErr) bool {
	var se *json.SyntaxError
	return err != nil && (rd.err != nil || errors.As(err, &se) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
}

// pageErr makes a page-level decoder error ErrMalformed, marking a body that
// ended early as truncated (worth one retry, see temporary). A read error is
// returned as it is: the caller reports the transport's failure instead.
func pageErr(err error, rd *readErr) error {
	if rd.err != nil {
		return rd.err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: page: truncated JSON (%w)", ErrMalformed, errTruncated)
	}
	return fmt.Errorf("%w: page: %s", ErrMalformed, jsonProblem(err))
}

// readErr remembers its reader's error, which the decoder does not tell
// apart from its own.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// skipValue consumes any JSON value without keeping it.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// IsDeleted reports whether ParseRecord's error means a soft-deleted record.
func IsDeleted(err error) bool { return errors.Is(err, errDeleted) }

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func lowerHex(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'F' {
			return string(bytes.ToLower([]byte(s)))
		}
	}
	return s
}

// flexMillis is a millisecond timestamp sent as a JSON number or string;
// null, "" and 0 are "absent".
type flexMillis int64

func (m *flexMillis) UnmarshalJSON(b []byte) error {
	n, err := flexInt(b)
	if err != nil {
		return err
	}
	if n < 0 {
		return errors.New("negative timestamp")
	}
	*m = flexMillis(n)
	return nil
}

func (m flexMillis) IsZero() bool { return m == 0 }

func (m flexMillis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// flexInt reads an integer sent as a number or a string.
func flexInt(b []byte) (int64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return 0, nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		if s == "" {
			return 0, nil
		}
		b = []byte(s)
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n, nil
	}
	// 1.7e12 and 1719878400000.0 are still numbers.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, errors.New("not an integer")
	}
	return int64(f), nil
}

// flexString accepts a string or a number (a bookmark or id could be either).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = ""
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*s = flexString(n.String())
	}
	return nil
}

// flexBool accepts true/false or "true"/"false".
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", `"true"`:
		*v = true
	case "false", `"false"`, "null":
		*v = false
	default:
		return errors.New("not a boolean")
	}
	return nil
}
