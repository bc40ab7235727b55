package bitbadges

import (
	"bytes"
	"context"
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

// Owners pages through every owner of token tokenID of collection
// collectionID (GET /collection/{id}/{tokenId}/owners, x-api-key only) and
// calls fn for each, skipping the pseudo-owners Mint and Total. A nil error
// means the list was read to its end.
func (c *Client) Owners(ctx context.Context, collectionID string, tokenID uint64, fn func(Owner) error) (OwnerStats, error) {
	var st OwnerStats
	buf := new(bytes.Buffer)
	bookmark := ""
	seen := map[string]bool{}
	base := strings.TrimRight(c.APIURL, "/") + "/collection/" + url.PathEscape(collectionID) + "/" +
		strconv.FormatUint(tokenID, 10) + "/owners"
	for {
		u := base
		if bookmark != "" {
			u += "?" + url.Values{"bookmark": {bookmark}}.Encode()
		}
		page, err := c.ownerPage(ctx, u, buf, &st)
		if err != nil {
			return st, fmt.Errorf("owners of %s/%d, page %d: %w", collectionID, tokenID, st.Pages+1, err)
		}
		st.Pages++
		for _, raw := range page.Owners {
			o, err := parseOwner(raw)
			switch {
			case err != nil:
				st.Malformed++
				if st.Malformed <= maxMalformedLogs {
					c.log().Warn("bitbadges: skipping malformed owner", "collection", collectionID, "token", tokenID, "err", err)
				}
				continue
			case pseudoOwner(o.Address):
				st.Skipped++
				continue
			}
			st.Owners++
			if err := fn(o); err != nil {
				return st, err
			}
		}
		next := string(page.Pagination.Bookmark)
		if !bool(*page.Pagination.HasMore) || len(page.Owners) == 0 {
			return st, nil
		}
		if next == "" || next == bookmark || seen[next] {
			return st, fmt.Errorf("%w: owners of %s/%d, page %d: %w", ErrMalformed, collectionID, tokenID, st.Pages, ErrBookmarkLoop)
		}
		if len(seen) > 64 {
			clear(seen)
		}
		seen[next] = true
		bookmark = next
	}
}

type ownerPage struct {
	Owners     []json.RawMessage `json:"owners"`
	Pagination *wirePagination   `json:"pagination"`
}

// ownerPage gets one page, retrying temporary failures like the pre-fetch.
func (c *Client) ownerPage(ctx context.Context, u string, buf *bytes.Buffer, st *OwnerStats) (ownerPage, error) {
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

func (c *Client) ownerPageOnce(ctx context.Context, u string, buf *bytes.Buffer, st *OwnerStats) (ownerPage, error) {
	data, date, err := c.do(ctx, "owners", http.MethodGet, u, nil, "", buf)
	st.Bytes += int64(len(data))
	if err != nil {
		return ownerPage{}, err
	}
	var p ownerPage
	if err := json.Unmarshal(data, &p); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ownerPage{}, fmt.Errorf("%w: %w: %s", ErrMalformed, errTruncated, jsonProblem(err))
		}
		return ownerPage{}, fmt.Errorf("%w: %s", ErrMalformed, jsonProblem(err))
	}
	if p.Owners == nil || p.Pagination == nil || p.Pagination.HasMore == nil {
		return ownerPage{}, fmt.Errorf("%w: not an owners page (no owners or pagination)", ErrMalformed)
	}
	if len(p.Owners) > c.maxRecords() {
		return ownerPage{}, fmt.Errorf("%w: %d owners in one page", ErrTooLarge, len(p.Owners))
	}
	c.serverTime(date)
	return p, nil
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
	var doc wireOwner
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("bitbadges balance: %w: %s", ErrMalformed, jsonProblem(err))
	}
	if doc.Balances == nil {
		return nil, fmt.Errorf("bitbadges balance: %w: no balances", ErrMalformed)
	}
	bals, err := doc.balances()
	if err != nil {
		return nil, fmt.Errorf("bitbadges balance: %w: %w", ErrMalformed, err)
	}
	c.serverTime(date)
	return bals, nil
}

type wireOwner struct {
	Address  flexString     `json:"bitbadgesAddress"`
	Balances *[]wireBalance `json:"balances"`
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

// parseOwner checks one BalanceDoc.
func parseOwner(raw json.RawMessage) (Owner, error) {
	var w wireOwner
	if err := json.Unmarshal(raw, &w); err != nil {
		return Owner{}, errors.New(jsonProblem(err))
	}
	if w.Address == "" {
		return Owner{}, errors.New("no bitbadgesAddress")
	}
	if w.Balances == nil {
		return Owner{}, errors.New("no balances")
	}
	bals, err := w.balances()
	if err != nil {
		return Owner{}, err
	}
	return Owner{Address: string(w.Address), Balances: bals}, nil
}

func (w *wireOwner) balances() ([]Balance, error) {
	if w.Balances == nil {
		return nil, nil
	}
	out := make([]Balance, 0, len(*w.Balances))
	for _, b := range *w.Balances {
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
