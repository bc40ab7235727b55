package bitbadges

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Range is an inclusive uint64 range: token ids, or ownership times in ms.
type Range struct{ Start, End uint64 }

// Balance is Amount of each token in TokenIDs, owned while the time is
// inside one of OwnershipTimes (ms timestamps, inclusive).
type Balance struct {
	Amount         uint64
	TokenIDs       []Range
	OwnershipTimes []Range
}

// Owner is one BalanceDoc: an address's balances in a collection.
type Owner struct {
	Address  string
	Balances []Balance
}

// OwnerStats describes one paging of a token's owners.
type OwnerStats struct {
	Pages     int
	Owners    int // handed to fn (pseudo-owners excluded)
	Skipped   int // the pseudo-owners Mint and Total
	Malformed int // owner documents skipped as unusable
	Bytes     int64
	Retries   int
}

// pseudoOwner reports the collection-level addresses BitBadges lists among
// the owners; they are not people.
func pseudoOwner(addr string) bool { return addr == "Mint" || addr == "Total" }

// MaxOwnerValues bounds the JSON values (objects, lists and their items) of
// one owner's balances: past it the owner is malformed, skipped without its
// balances being decoded. A BalanceDoc holds a few balances of a few ranges;
// 4 MiB of "{}" in one would otherwise cost 80 MB decoded.
const MaxOwnerValues = 1 << 16

// Owners pages through every owner of token tokenID of collection
// collectionID (GET /collection/{id}/{tokenId}/owners, x-api-key only) and
// calls fn for each, skipping the pseudo-owners Mint and Total. A nil error
// means the list was read to its end.
//
// Every bookmark of the listing is remembered (as its hash: a bookmark may
// be as long as a page): one given twice is a cycle, ErrBookmarkLoop. At
// most maxPages pages are read (math.MaxInt: no bound); one more is
// ErrPageBound.
func (c *Client) Owners(ctx context.Context, collectionID string, tokenID uint64, maxPages int, fn func(Owner) error) (OwnerStats, error) {
	var st OwnerStats
	buf := new(bytes.Buffer)
	bookmark := ""
	seen := map[[sha256.Size]byte]struct{}{}
	base := strings.TrimRight(c.APIURL, "/") + "/collection/" + url.PathEscape(collectionID) + "/" +
		strconv.FormatUint(tokenID, 10) + "/owners"
	for {
		if st.Pages >= maxPages {
			return st, fmt.Errorf("owners of %s/%d: %w: %d pages read and the server still has more", collectionID, tokenID, ErrPageBound, st.Pages)
		}
		u := base
		if bookmark != "" {
			u += "?" + url.Values{"bookmark": {bookmark}}.Encode()
		}
		page, err := c.ownerPage(ctx, u, buf, &st)
		if err != nil {
			return st, fmt.Errorf("owners of %s/%d, page %d: %w", collectionID, tokenID, st.Pages+1, err)
		}
		st.Pages++
		for _, o := range page.owners {
			switch {
			case o.err != nil:
				st.Malformed++
				if st.Malformed <= maxMalformedLogs {
					c.log().Warn("bitbadges: skipping malformed owner", "collection", collectionID, "token", tokenID, "err", o.err)
				}
				continue
			case pseudoOwner(o.Address):
				st.Skipped++
				continue
			}
			st.Owners++
			if err := fn(o.Owner); err != nil {
				return st, err
			}
		}
		next := page.bookmark
		if !page.hasMore || page.count == 0 {
			return st, nil
		}
		key := sha256.Sum256([]byte(next))
		if _, again := seen[key]; next == "" || next == bookmark || again {
			return st, fmt.Errorf("%w: owners of %s/%d, page %d: %w", ErrMalformed, collectionID, tokenID, st.Pages, ErrBookmarkLoop)
		}
		seen[key] = struct{}{}
		bookmark = next
	}
}

// ErrPageBound is a listing stopped by its caller's page bound.
var ErrPageBound = errors.New("page bound reached")

// ownerPage gets one page, retrying temporary failures like the pre-fetch.
func (c *Client) ownerPage(ctx context.Context, u string, buf *bytes.Buffer, st *OwnerStats) (ownersPage, error) {
	delay := c.RetryDelay
	if delay <= 0 {
		delay = 500 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		page, err := c.ownerPageOnce(ctx, u, buf, st)
		if err == nil || attempt >= c.PageRetries || !temporary(err) || ctx.Err() != nil {
			return page, err
		}
		st.Retries++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return page, err
		case <-t.C:
		}
		delay *= 2
	}
}

func (c *Client) ownerPageOnce(ctx context.Context, u string, buf *bytes.Buffer, st *OwnerStats) (ownersPage, error) {
	var page ownersPage
	var perr error
	n, date, err := c.doStream(ctx, "owners", http.MethodGet, u, nil, "", buf, func(r io.Reader) error {
		page, perr = decodeOwnersPage(r, c.maxRecords())
		return perr
	})
	st.Bytes += n
	if err != nil {
		return ownersPage{}, err
	}
	c.serverTime(date)
	return page, nil
}

// ownersPage is one decoded owners page.
type ownersPage struct {
	owners   []parsedOwner
	count    int // owners on the page, good and bad
	bookmark string
	hasMore  bool
}

// parsedOwner is an owner checked, or why it is unusable.
type parsedOwner struct {
	Owner
	err error
}

// decodeOwnersPage reads an owners page from r as a stream, one owner at a
// time, as decodePage does the pre-fetch's: past maxRecords owners it stops
// with ErrTooLarge without reading further, and values beside the list or
// inside an owner are skipped without being kept.
func decodeOwnersPage(r io.Reader, maxRecords int) (ownersPage, error) {
	rd := &readErr{r: r}
	dec := json.NewDecoder(rd)
	if err := expectDelim(dec, rd, '{'); err != nil {
		return ownersPage{}, err
	}
	var p ownersPage
	var list bool
	var pag *wirePagination
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ownersPage{}, pageErr(err, rd)
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "owners"):
			p.owners, p.count = p.owners[:0], 0
			if list, err = decodeOwners(dec, rd, &p, maxRecords); err != nil {
				return ownersPage{}, err
			}
		case strings.EqualFold(key, "pagination"):
			if err := dec.Decode(&pag); err != nil {
				return ownersPage{}, pageErr(err, rd)
			}
		default:
			if err := dec.Decode(&skipValue{}); err != nil {
				return ownersPage{}, pageErr(err, rd)
			}
		}
	}
	if err := expectDelim(dec, rd, '}'); err != nil {
		return ownersPage{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return ownersPage{}, fmt.Errorf("%w: page: data after the JSON object", ErrMalformed)
		}
		return ownersPage{}, pageErr(err, rd)
	}
	if !list || pag == nil || pag.HasMore == nil {
		return ownersPage{}, fmt.Errorf("%w: not an owners page (no owners or pagination)", ErrMalformed)
	}
	p.bookmark, p.hasMore = string(pag.Bookmark), bool(*pag.HasMore)
	return p, nil
}

// decodeOwners reads the owners list into p; it reports false for null.
func decodeOwners(dec *json.Decoder, rd *readErr, p *ownersPage, maxRecords int) (bool, error) {
	return decodeList(dec, rd, "owners", "owners", maxRecords, func(d *ownerDoc, err error) {
		p.count++
		if err != nil {
			p.owners = append(p.owners, parsedOwner{err: errors.New(jsonProblem(err))})
			return
		}
		o, err := d.check()
		p.owners = append(p.owners, parsedOwner{Owner: o, err: err})
	})
}

// ownerDoc is a BalanceDoc with its balances kept raw until counted.
type ownerDoc struct {
	Address  flexString      `json:"bitbadgesAddress"`
	Balances json.RawMessage `json:"balances"`
}

func (d *ownerDoc) check() (Owner, error) {
	if d.Address == "" {
		return Owner{}, errors.New("no bitbadgesAddress")
	}
	bals, err := decodeBalances(d.Balances)
	if err != nil {
		return Owner{}, err
	}
	return Owner{Address: string(d.Address), Balances: bals}, nil
}

// decodeBalances checks a balances list, refusing one of more than
// MaxOwnerValues values before decoding it.
func decodeBalances(raw json.RawMessage) ([]Balance, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("no balances")
	}
	if n := jsonValues(raw, MaxOwnerValues); n > MaxOwnerValues {
		return nil, fmt.Errorf("balances hold more than %d JSON values", MaxOwnerValues)
	}
	var w []wireBalance
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, errors.New(jsonProblem(err))
	}
	return balances(w)
}

// jsonValues counts, up to past max, the objects, lists and list or object
// items of valid JSON (each is opened by '{' or '[' or follows a ','
// outside strings): a bound on what decoding it allocates.
func jsonValues(raw []byte, max int) int {
	n := 0
	in, esc := false, false
	for _, b := range raw {
		switch {
		case esc:
			esc = false
		case in:
			if b == '\\' {
				esc = true
			} else if b == '"' {
				in = false
			}
		case b == '"':
			in = true
		case b == '{' || b == '[' || b == ',':
			if n++; n > max {
				return n
			}
		}
	}
	return n
}

// Balance asks for one address's balances in a collection (GET
// /collection/{id}/balance/{address}): the online re-check of a visitor the
// cached owners do not qualify. An address with nothing is no balances and
// no error.
func (c *Client) Balance(ctx context.Context, collectionID, address string) ([]Balance, error) {
	u := strings.TrimRight(c.APIURL, "/") + "/collection/" + url.PathEscape(collectionID) + "/balance/" + url.PathEscape(address)
	data, date, err := c.do(ctx, "balance", http.MethodGet, u, nil, "", nil)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Balances json.RawMessage `json:"balances"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("bitbadges balance: %w: %s", ErrMalformed, jsonProblem(err))
	}
	bals, err := decodeBalances(doc.Balances)
	if err != nil {
		return nil, fmt.Errorf("bitbadges balance: %w: %w", ErrMalformed, err)
	}
	c.serverTime(date)
	return bals, nil
}

type wireBalance struct {
	Amount         *flexUint   `json:"amount"`
	TokenIDs       []wireRange `json:"tokenIds"`
	OwnershipTimes []wireRange `json:"ownershipTimes"`
}

type wireRange struct {
	Start *flexUint `json:"start"`
	End   *flexUint `json:"end"`
}

// balances checks decoded balances, leaving out those that own nothing.
func balances(w []wireBalance) ([]Balance, error) {
	out := make([]Balance, 0, len(w))
	for _, b := range w {
		if b.Amount == nil {
			return nil, errors.New("balance without amount")
		}
		ids, err := ranges(b.TokenIDs)
		if err != nil {
			return nil, fmt.Errorf("tokenIds: %w", err)
		}
		times, err := ranges(b.OwnershipTimes)
		if err != nil {
			return nil, fmt.Errorf("ownershipTimes: %w", err)
		}
		if *b.Amount == 0 || len(ids) == 0 || len(times) == 0 {
			continue // owns nothing, ever
		}
		out = append(out, Balance{Amount: uint64(*b.Amount), TokenIDs: ids, OwnershipTimes: times})
	}
	return out, nil
}

func ranges(w []wireRange) ([]Range, error) {
	out := make([]Range, 0, len(w))
	for _, r := range w {
		if r.Start == nil || r.End == nil {
			return nil, errors.New("range without start or end")
		}
		if *r.End < *r.Start {
			return nil, fmt.Errorf("range %d-%d ends before it starts", *r.Start, *r.End)
		}
		out = append(out, Range{Start: uint64(*r.Start), End: uint64(*r.End)})
	}
	return out, nil
}

// flexUint is a uint64 sent as a string (the API's way: amounts and ranges
// go to 2^64-1) or as a JSON number. An amount past 2^64-1 saturates.
type flexUint uint64

func (v *flexUint) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	s := string(b)
	n, err := strconv.ParseUint(s, 10, 64)
	if err == nil {
		*v = flexUint(n)
		return nil
	}
	var ne *strconv.NumError
	if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
		*v = math.MaxUint64
		return nil
	}
	// A number written as 1e3 or 5.0 is still whole.
	f, ferr := strconv.ParseFloat(s, 64)
	if ferr != nil || f < 0 || f != math.Trunc(f) || f > 1<<53 {
		return fmt.Errorf("%q is not an unsigned integer", s)
	}
	*v = flexUint(f)
	return nil
}
