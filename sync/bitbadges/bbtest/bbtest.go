// Package bbtest is an in-process stand-in of the BitBadges API, to
// bitbadges what net/http/httptest is to net/http: the demo, the tests and
// the crash and CI harnesses run kioskd against it.
//
// It serves, under URL() (".../api/v0"):
//
//	GET  /developerApps/siwbbRequests?clientId=&bookmark=   the pre-fetch
//	POST /developerApps/siwbbRequests  {clientId, bookmark}   its older form (also /developerApp/...)
//	POST /siwbb/token  grant_type=refresh_token | authorization_code
//	GET  /collection/{id}/{tokenId}/owners?bookmark=   a token's owners (BalanceDocs)
//	GET  /collection/{id}/balance/{address}            one address's balances
//
// with the real API's quirks: 25 records a page, newest first, _id as the
// bookmark, hasMore meaning "this page was full" (so the last page may be
// empty), numbers as strings (some records as plain numbers), some records
// without their code, soft-deleted records left in the list with deletedAt
// (the client must filter them), unknown fields, refresh-token rotation (a
// used refresh token is dead), access tokens that expire (401), codes that
// can be exchanged once (a second exchange is a 500, like an unknown code),
// the x-api-key check (401), API credits (402), and a Date header from a
// clock the test controls. Badge owners page like the codes (25 a page,
// hasMore = "this page was full", so the last page may be empty), with
// numbers as strings (every fifth owner's as JSON numbers), ownershipTimes,
// unknown fields, and the pseudo-owners Mint and Total among the owners.
//
// Faults are injected with Inject: error statuses (with Retry-After), hangs,
// slow drips, truncated, malformed and enormous bodies, dropped connections.
// Closing the server gives "connection refused".
package bbtest

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	stdsync "sync"
	"time"
)

// Options configure a Server. Empty credentials are generated.
type Options struct {
	ClientID     string
	APIKey       string
	ClientSecret string
	// RefreshToken is the first valid refresh token (the one a venue puts in
	// its refresh_token_file).
	RefreshToken string
	// PageSize is the records per page; 0 = 25, like BitBadges.
	PageSize int
	// DisableGET makes the GET pre-fetch answer 404, like a server from
	// before March 2025, so clients must fall back to the POST form.
	DisableGET bool
	// AccessTTL is an access token's life; 0 = 24 h.
	AccessTTL time.Duration
	// Credits, when positive, is how many requests the account can still
	// pay for; past them every request is a 402. 0 = unlimited.
	Credits int
	// Now is the server's clock (Date header, token expiry, createdAt of
	// added codes); nil = time.Now.
	Now func() time.Time
}

// Record is one code held by the server. Zero fields get plausible values.
type Record struct {
	Code      string
	Name      string
	Address   string
	Chain     string
	CreatedAt time.Time
	ExpiresAt time.Time // zero = never
	// OmitCode leaves "code" out of the pre-fetch record (2024 server).
	OmitCode bool
	// DocID overrides "_docId", the sha256 of Code by default: a server may
	// send a code in upper case with the hash of its lower-case text.
	DocID string
	// NumericTimes sends timestamps as JSON numbers instead of strings.
	NumericTimes bool
	// BitBadgesAddress is the bb1… address when it differs from Address
	// (an ETH user); empty = Address.
	BitBadgesAddress string
}

func (r Record) docID() string {
	if r.DocID != "" {
		return r.DocID
	}
	return hashCode(r.Code)
}

type entry struct {
	id        string // 24 hex, increasing with insertion: newest = largest
	rec       Record
	docID     string
	deletedAt time.Time
	exchanged bool
}

// Server is a running stand-in. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	ts   *httptest.Server

	mu      stdsync.Mutex
	seq     uint64
	entries []*entry // ascending id
	byCode  map[string]*entry
	refresh string               // the one valid refresh token
	access  map[string]time.Time // access token → expiry
	credits int
	limited bool // credits are counted
	faults  []*Fault
	counts  Counts
	colls   map[string]*collection // badge balances by collection id (owners.go)
}

// Counts tells what the server has answered, for assertions.
type Counts struct {
	PrefetchGET   int // GET pre-fetch requests (including refused ones)
	PrefetchPOST  int // POST pre-fetch requests
	Pages         int // pages served successfully
	Refreshes     int // successful token refreshes
	Exchanges     int // successful exchanges
	Unauthorized  int // 401 answers
	Faults        int // injected faults fired
	OwnerPages    int // token owner pages served
	BalanceChecks int // single-address balance answers
}

// NewServer starts a stand-in on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "bbtest-client"
	}
	if opts.APIKey == "" {
		opts.APIKey = "bbtest-key-" + randHex(8)
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "bbtest-secret-" + randHex(8)
	}
	if opts.RefreshToken == "" {
		opts.RefreshToken = "rt-" + randHex(16)
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 25
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, byCode: map[string]*entry{}, refresh: opts.RefreshToken,
		access: map[string]time.Time{}, credits: opts.Credits, limited: opts.Credits > 0}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the API base, the value of bitbadges.api_url.
func (s *Server) URL() string { return s.ts.URL + "/api/v0" }

// Options returns the server's options with the generated credentials filled in.
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// Close shuts the server down; later requests get "connection refused".
// Hung and dripping requests are cut first so Close never waits on them.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// CloseClientConnections drops every open connection (keep-alives included).
func (s *Server) CloseClientConnections() { s.ts.CloseClientConnections() }

// RefreshToken is the currently valid refresh token.
func (s *Server) RefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh
}

// ExpireAccessTokens makes every issued access token invalid (401), as a
// day's wait would.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
}

// RevokeRefreshToken invalidates the refresh token: the owner must re-authorise.
func (s *Server) RevokeRefreshToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refresh = "revoked-" + randHex(8)
}

// SetCredits sets the remaining API credits: n >= 0 counts them (0 makes
// every request a 402), n < 0 means unlimited.
func (s *Server) SetCredits(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited = n >= 0
	s.credits = max(n, 0)
}

// Counts returns what the server has answered so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// AddCode adds a code with a name, created now.
func (s *Server) AddCode(code, name string) {
	s.Add(Record{Code: code, Name: name})
}

// Add adds one record. Adding a code twice replaces nothing: the first wins.
func (s *Server) Add(r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(r)
}

func (s *Server) addLocked(r Record) {
	if _, dup := s.byCode[r.Code]; dup {
		return
	}
	if r.Name == "" {
		r.Name = "Event check-in"
	}
	if r.Address == "" {
		sum := sha256.Sum256([]byte("addr" + r.Code))
		r.Address = "bb1" + hex.EncodeToString(sum[:])[:38]
	}
	if r.Chain == "" {
		r.Chain = "Cosmos"
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.opts.Now()
	}
	s.seq++
	e := &entry{id: fmt.Sprintf("6684%020x", s.seq), rec: r, docID: r.docID()}
	s.entries = append(s.entries, e)
	s.byCode[r.Code] = e
}

// AddCodes adds n random codes and returns them, oldest first. To exercise
// the client, every 7th record omits its code, every 3rd sends its times as
// JSON numbers, and every 50th is soft-deleted (and not returned).
func (s *Server) AddCodes(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := make([]string, 0, n)
	for i := 0; i < n; i++ {
		code := randHex(32)
		s.addLocked(Record{Code: code, Name: fmt.Sprintf("Guest pass %d", i),
			OmitCode: i%7 == 6, NumericTimes: i%3 == 2})
		if i%50 == 49 {
			s.byCode[code].deletedAt = s.opts.Now()
			continue
		}
		codes = append(codes, code)
	}
	return codes
}

// Delete soft-deletes a code: it stays in the pre-fetch with deletedAt set,
// and can no longer be exchanged.
func (s *Server) Delete(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.byCode[code]; e != nil && e.deletedAt.IsZero() {
		e.deletedAt = s.opts.Now()
	}
}

// Remove makes a code vanish from the pre-fetch, as a rotation does.
func (s *Server) Remove(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byCode[code]
	if e == nil {
		return
	}
	delete(s.byCode, code)
	i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].id >= e.id })
	s.entries = append(s.entries[:i], s.entries[i+1:]...)
}

// Codes returns the live (not deleted) codes, newest first.
func (s *Server) Codes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for i := len(s.entries) - 1; i >= 0; i-- {
		if e := s.entries[i]; e.deletedAt.IsZero() {
			out = append(out, e.rec.Code)
		}
	}
	return out
}

// Exchanged reports whether a code has been exchanged (consumed).
func (s *Server) Exchanged(code string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byCode[code]
	return e != nil && e.exchanged
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/json")
	route := ""
	path := strings.TrimPrefix(r.URL.Path, "/api/v0")
	switch path {
	case "/developerApps/siwbbRequests", "/developerApp/siwbbRequests":
		route = RoutePrefetch
	case "/siwbb/token":
		route = RouteToken
	default:
		if route = badgeRoute(path); route == "" {
			writeError(w, http.StatusNotFound, "Not found", false)
			return
		}
	}
	if f := s.takeFault(route); f != nil {
		if f.fire(w, r, s, route, path) {
			return
		}
	}
	s.mu.Lock()
	if r.Header.Get("x-api-key") != s.opts.APIKey {
		s.counts.Unauthorized++
		s.mu.Unlock()
		writeError(w, http.StatusUnauthorized, "Unauthorized: invalid API key", true)
		return
	}
	if s.limited {
		if s.credits <= 0 {
			s.mu.Unlock()
			writeJSON(w, http.StatusPaymentRequired, map[string]any{"error": "Insufficient credits",
				"errorMessage": "You have run out of API credits."})
			return
		}
		s.credits--
	}
	s.mu.Unlock()
	switch route {
	case RoutePrefetch:
		s.prefetch(w, r, path, now)
	case RouteToken:
		s.token(w, r, now)
	case RouteOwners:
		s.serveOwners(w, r, path)
	case RouteBalance:
		s.serveBalance(w, r, path)
	}
}

// Routes, for Fault.Route.
const (
	RoutePrefetch = "prefetch"
	RouteToken    = "token"
)

func (s *Server) prefetch(w http.ResponseWriter, r *http.Request, path string, now time.Time) {
	var clientID, bookmark string
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		s.counts.PrefetchGET++
		s.mu.Unlock()
		if s.opts.DisableGET || path != "/developerApps/siwbbRequests" {
			writeError(w, http.StatusNotFound, "Not found", false)
			return
		}
		clientID, bookmark = r.URL.Query().Get("clientId"), r.URL.Query().Get("bookmark")
	case http.MethodPost:
		s.mu.Lock()
		s.counts.PrefetchPOST++
		s.mu.Unlock()
		var body struct {
			ClientID string `json:"clientId"`
			Bookmark string `json:"bookmark"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "Invalid request body", false)
			return
		}
		clientID, bookmark = body.ClientID, body.Bookmark
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed", false)
		return
	}
	if !s.bearerOK(r, now) {
		writeError(w, http.StatusUnauthorized, "Unauthorized: invalid or expired session", true)
		return
	}
	if clientID != s.opts.ClientID {
		// The 2024 server answered a wrong client id with a 500 too.
		writeError(w, http.StatusInternalServerError, "Error fetching requests: app not found", false)
		return
	}
	s.mu.Lock()
	// Newest first: walk down from just below the bookmark.
	end := len(s.entries)
	if bookmark != "" {
		end = sort.Search(len(s.entries), func(i int) bool { return s.entries[i].id >= bookmark })
	}
	start := max(0, end-s.opts.PageSize)
	page := make([]map[string]any, 0, end-start)
	for i := end - 1; i >= start; i-- {
		page = append(page, s.entries[i].wire(s.opts.ClientID))
	}
	next := bookmark
	if start < end {
		next = s.entries[start].id
	}
	s.counts.Pages++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"siwbbRequests": page,
		"pagination":    map[string]any{"bookmark": next, "hasMore": len(page) == s.opts.PageSize},
	})
}

func (e *entry) wire(clientID string) map[string]any {
	r := e.rec
	ms := func(t time.Time) any {
		var n int64
		if !t.IsZero() {
			n = t.UnixMilli()
		}
		if r.NumericTimes {
			return n
		}
		return strconv.FormatInt(n, 10)
	}
	m := map[string]any{
		"_docId": e.docID, "_id": e.id, "bitbadgesAddress": cmp.Or(r.BitBadgesAddress, r.Address), "address": r.Address,
		"chain": r.Chain, "name": r.Name, "scopes": []any{}, "expiresAt": ms(r.ExpiresAt),
		"createdAt": ms(r.CreatedAt), "clientId": clientID,
		"description": "", "image": "", "otherSignIns": []any{}, // unknown to the client
	}
	if !r.OmitCode {
		m["code"] = r.Code
	}
	if !e.deletedAt.IsZero() {
		m["deletedAt"] = ms(e.deletedAt)
	}
	return m
}

func (s *Server) bearerOK(r *http.Request, now time.Time) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.access[tok]
	if !ok || !known || !now.Before(exp) {
		s.counts.Unauthorized++
		return false
	}
	return true
}

type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
	Options      *struct {
		IssuedAtTimeWindowMs *json.Number `json:"issuedAtTimeWindowMs"`
	} `json:"options"`
}

func (s *Server) token(w http.ResponseWriter, r *http.Request, now time.Time) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed", false)
		return
	}
	var req tokenRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request body", false)
		return
	}
	if req.ClientID != s.opts.ClientID || req.ClientSecret != s.opts.ClientSecret {
		// A bad client secret came back as a 500 in 2024.
		writeError(w, http.StatusInternalServerError, "Invalid client ID or secret", false)
		return
	}
	switch req.GrantType {
	case "refresh_token":
		s.mu.Lock()
		if req.RefreshToken == "" || req.RefreshToken != s.refresh {
			s.counts.Unauthorized++
			s.mu.Unlock()
			writeError(w, http.StatusUnauthorized, "Invalid refresh token", true)
			return
		}
		access, refresh := "at-"+randHex(16), "rt-"+randHex(16)
		s.access[access] = now.Add(s.opts.AccessTTL)
		s.refresh = refresh // rotation: the used one is dead
		s.counts.Refreshes++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": access, "token_type": "Bearer",
			"access_token_expires_at":  strconv.FormatInt(now.Add(s.opts.AccessTTL).UnixMilli(), 10),
			"refresh_token":            refresh,
			"refresh_token_expires_at": now.Add(60 * 24 * time.Hour).UnixMilli(),
		})
	case "authorization_code":
		s.mu.Lock()
		e := s.byCode[req.Code]
		if e == nil || e.exchanged || !e.deletedAt.IsZero() {
			s.mu.Unlock()
			// Unknown, consumed or deleted: the real server says 500.
			writeError(w, http.StatusInternalServerError, "Error getting auth code", false)
			return
		}
		window := int64(10 * 60 * 1000)
		if req.Options != nil && req.Options.IssuedAtTimeWindowMs != nil {
			window, _ = req.Options.IssuedAtTimeWindowMs.Int64()
		}
		if window > 0 && now.Sub(e.rec.CreatedAt) > time.Duration(window)*time.Millisecond {
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{
				"verificationResponse": map[string]any{"success": false, "errorMessage": "Not recent enough"}})
			return
		}
		e.exchanged = true
		s.counts.Exchanges++
		rec := e.rec
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"address": rec.Address, "bitbadgesAddress": rec.Address, "chain": rec.Chain,
			"verificationResponse": map[string]any{"success": true},
			"access_token":         "at-" + randHex(16), "token_type": "Bearer",
		})
	default:
		writeError(w, http.StatusBadRequest, "Invalid grant_type", false)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errorMessage":"encoding"}`)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string, unauthorized bool) {
	body := map[string]any{"errorMessage": msg}
	if unauthorized {
		body["unauthorized"] = true
	}
	writeJSON(w, status, body)
}

func hashCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
