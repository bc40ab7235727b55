package bbtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Routes of the badge endpoints (BitBadges API spec §3b), for Fault.Route.
const (
	RouteOwners  = "owners"  // GET /collection/{id}/{tokenId}/owners?bookmark=
	RouteBalance = "balance" // GET /collection/{id}/balance/{address}
)

// Forever is the end of an ownership time range that never ends.
const Forever = math.MaxUint64

// Range is an inclusive uint64 range (token ids, or ms ownership times).
type Range struct{ Start, End uint64 }

// Balance is an amount of each token in TokenIDs, owned during OwnershipTimes.
type Balance struct {
	Amount         uint64
	TokenIDs       []Range
	OwnershipTimes []Range
}

// Hold is the common balance: amount of one token, owned for ever.
func Hold(token, amount uint64) Balance {
	return Balance{Amount: amount, TokenIDs: []Range{{Start: token, End: token}}, OwnershipTimes: []Range{{Start: 1, End: Forever}}}
}

// HoldDuring is amount of one token owned only in [from, until) (a season pass).
func HoldDuring(token, amount uint64, from, until time.Time) Balance {
	return Balance{Amount: amount, TokenIDs: []Range{{Start: token, End: token}},
		OwnershipTimes: []Range{{Start: uint64(from.UnixMilli()), End: uint64(until.UnixMilli()) - 1}}}
}

// collection is one collection's balances and its per-token owner lists.
type collection struct {
	bal    map[string][]Balance // address → balances
	owners map[uint64][]string  // token → sorted addresses holding it (built on demand)
}

// SetBalances replaces address's balances in collection id (none = it holds
// nothing). The pseudo-owners "Mint" and "Total" are kept up to date, as
// BitBadges lists them among every token's owners.
func (s *Server) SetBalances(collectionID, address string, bals ...Balance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setBalancesLocked(collectionID, address, bals)
}

func (s *Server) setBalancesLocked(collectionID, address string, bals []Balance) {
	if s.colls == nil {
		s.colls = map[string]*collection{}
	}
	c := s.colls[collectionID]
	if c == nil {
		c = &collection{bal: map[string][]Balance{
			"Mint":  {{Amount: 1, TokenIDs: []Range{{Start: 1, End: Forever}}, OwnershipTimes: []Range{{Start: 1, End: Forever}}}},
			"Total": {{Amount: 1, TokenIDs: []Range{{Start: 1, End: Forever}}, OwnershipTimes: []Range{{Start: 1, End: Forever}}}},
		}}
		s.colls[collectionID] = c
	}
	if len(bals) == 0 {
		delete(c.bal, address)
	} else {
		c.bal[address] = slices.Clone(bals)
	}
	c.owners = nil
}

// Transfer moves every balance of from in the collection to to.
func (s *Server) Transfer(collectionID, from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.colls[collectionID]
	if c == nil {
		return
	}
	bals := c.bal[from]
	s.setBalancesLocked(collectionID, from, nil)
	s.setBalancesLocked(collectionID, to, bals)
}

// AddOwners gives n new addresses one of token for ever and returns them.
func (s *Server) AddOwners(collectionID string, token uint64, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, n)
	for i := range out {
		sum := sha256.Sum256([]byte(randHex(16)))
		out[i] = "bb1" + hex.EncodeToString(sum[:])[:38]
		s.setBalancesLocked(collectionID, out[i], []Balance{Hold(token, 1)})
	}
	return out
}

// AddressOf is the bitbadgesAddress the pre-fetch gives code's record.
func (s *Server) AddressOf(code string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.byCode[code]; e != nil {
		if e.rec.BitBadgesAddress != "" {
			return e.rec.BitBadgesAddress
		}
		return e.rec.Address
	}
	return ""
}

// ownersLocked lists, sorted, the addresses with a positive amount of token
// in the collection at any time.
func (c *collection) ownersLocked(token uint64) []string {
	if c.owners == nil {
		c.owners = map[uint64][]string{}
	}
	if l, ok := c.owners[token]; ok {
		return l
	}
	var l []string
	for addr, bals := range c.bal {
		for _, b := range bals {
			if b.Amount > 0 && inRanges(b.TokenIDs, token) {
				l = append(l, addr)
				break
			}
		}
	}
	slices.Sort(l)
	c.owners[token] = l
	return l
}

func inRanges(rs []Range, v uint64) bool {
	for _, r := range rs {
		if r.Start <= v && v <= r.End {
			return true
		}
	}
	return false
}

// badgeRoute recognises the §3b paths.
func badgeRoute(path string) string {
	p := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case len(p) == 4 && p[0] == "collection" && p[3] == "owners":
		return RouteOwners
	case len(p) == 4 && p[0] == "collection" && p[2] == "balance":
		return RouteBalance
	}
	return ""
}

func (s *Server) serveOwners(w http.ResponseWriter, r *http.Request, path string) {
	p := strings.Split(strings.TrimPrefix(path, "/"), "/")
	collID := p[1]
	token, err := strconv.ParseUint(p[2], 10, 64)
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed", false)
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid tokenId", false)
		return
	}
	bookmark := r.URL.Query().Get("bookmark")
	s.mu.Lock()
	c := s.colls[collID]
	if c == nil {
		s.mu.Unlock()
		// Like an unknown code, an unknown collection was a 500.
		writeError(w, http.StatusInternalServerError, "Error getting owners: collection not found", false)
		return
	}
	list := c.ownersLocked(token)
	start := 0
	if bookmark != "" {
		i, found := slices.BinarySearch(list, bookmark)
		if !found && (i == 0 || i > len(list)) {
			s.mu.Unlock()
			writeError(w, http.StatusInternalServerError, "Error getting owners: invalid bookmark", false)
			return
		}
		start = i
		if found {
			start = i + 1
		}
	}
	end := min(len(list), start+s.opts.PageSize)
	page := make([]map[string]any, 0, end-start)
	for i := start; i < end; i++ {
		page = append(page, wireOwner(collID, list[i], c.bal[list[i]], i%5 == 4))
	}
	next := bookmark
	if end > start {
		next = list[end-1]
	}
	s.counts.OwnerPages++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"owners":     page,
		"pagination": map[string]any{"bookmark": next, "hasMore": len(page) == s.opts.PageSize},
	})
}

func (s *Server) serveBalance(w http.ResponseWriter, r *http.Request, path string) {
	p := strings.Split(strings.TrimPrefix(path, "/"), "/")
	collID, addr := p[1], p[3]
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed", false)
		return
	}
	s.mu.Lock()
	c := s.colls[collID]
	if c == nil {
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, "Error getting balance: collection not found", false)
		return
	}
	doc := wireOwner(collID, addr, c.bal[addr], false)
	s.counts.BalanceChecks++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, doc)
}

// wireOwner is a BalanceDoc: numbers as strings (as JSON numbers when
// numeric and they fit a float exactly), unknown fields beside.
func wireOwner(collID, addr string, bals []Balance, numeric bool) map[string]any {
	num := func(v uint64) any {
		if numeric && v < 1<<53 {
			return v
		}
		return strconv.FormatUint(v, 10)
	}
	ranges := func(rs []Range) []any {
		out := make([]any, len(rs))
		for i, r := range rs {
			out[i] = map[string]any{"start": num(r.Start), "end": num(r.End)}
		}
		return out
	}
	wb := make([]any, len(bals))
	for i, b := range bals {
		wb[i] = map[string]any{"amount": num(b.Amount), "tokenIds": ranges(b.TokenIDs),
			"ownershipTimes": ranges(b.OwnershipTimes)}
	}
	return map[string]any{
		"_docId": fmt.Sprintf("%s:%s", collID, addr), "bitbadgesAddress": addr, "collectionId": collID,
		"balances": wb, "onChain": true, "outgoingApprovals": []any{}, "incomingApprovals": []any{},
	}
}
