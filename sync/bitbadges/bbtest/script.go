package bbtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// PageFunc scripts one pre-fetch page: the records it holds, the bookmark it
// hands out and its hasMore, for the bookmark the client sent ("" = first
// page). It may block (a slow server) and is called from the server's
// goroutines.
type PageFunc func(bookmark string) (records []Record, next string, hasMore bool)

// Scripted is a second listener on 127.0.0.1 in front of s whose pre-fetch
// pages come from fn instead of s's codes: a server that never ends its list,
// goes round in a circle or repeats pages. Every other request (token
// renewal, exchange) is s's, and the pre-fetch still checks the API key and
// the bearer token like s. Its URL is the API base; close it when done.
type Scripted struct {
	*httptest.Server
	s      *Server
	fn     PageFunc   // nil: the pre-fetch is s's
	owners OwnersFunc // nil: the owners pages are s's
}

// OwnersFunc scripts one owners page (GET /collection/{id}/{tokenId}/owners):
// the addresses on it, each holding the token asked for ever, the bookmark
// it hands out and its hasMore, for the bookmark the client sent ("" = first
// page). It may block and is called from the server's goroutines.
type OwnersFunc func(collectionID string, token uint64, bookmark string) (addresses []string, next string, hasMore bool)

// ScriptOwners starts a Scripted listener over s whose owners pages come
// from fn (a listing that never ends, or goes round in a circle); the
// pre-fetch and everything else are s's.
func (s *Server) ScriptOwners(fn OwnersFunc) *Scripted {
	sc := &Scripted{s: s, owners: fn}
	sc.Server = httptest.NewServer(http.HandlerFunc(sc.serve))
	return sc
}

// Script starts a Scripted listener over s.
func (s *Server) Script(fn PageFunc) *Scripted {
	sc := &Scripted{s: s, fn: fn}
	sc.Server = httptest.NewServer(http.HandlerFunc(sc.serve))
	return sc
}

// URL is the API base, the value of bitbadges.api_url.
func (sc *Scripted) URL() string { return sc.Server.URL + "/api/v0" }

func (sc *Scripted) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v0")
	if sc.owners != nil && badgeRoute(path) == RouteOwners {
		sc.serveOwners(w, r, path)
		return
	}
	if sc.fn == nil || path != "/developerApps/siwbbRequests" && path != "/developerApp/siwbbRequests" {
		sc.s.serve(w, r)
		return
	}
	now := sc.s.opts.Now()
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("x-api-key") != sc.s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "Unauthorized: invalid API key", true)
		return
	}
	if !sc.s.bearerOK(r, now) {
		writeError(w, http.StatusUnauthorized, "Unauthorized: invalid or expired session", true)
		return
	}
	bookmark := r.URL.Query().Get("bookmark")
	if r.Method == http.MethodPost {
		var body struct {
			Bookmark string `json:"bookmark"`
		}
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body)
		bookmark = body.Bookmark
	}
	recs, next, more := sc.fn(bookmark)
	page := make([]map[string]any, 0, len(recs))
	for i, rec := range recs {
		page = append(page, sc.s.scriptedEntry(rec, fmt.Sprintf("%s-%d", next, i)).wire(sc.s.opts.ClientID))
	}
	sc.s.mu.Lock()
	sc.s.counts.Pages++
	sc.s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"siwbbRequests": page,
		"pagination":    map[string]any{"bookmark": next, "hasMore": more},
	})
}

func (sc *Scripted) serveOwners(w http.ResponseWriter, r *http.Request, path string) {
	w.Header().Set("Date", sc.s.opts.Now().UTC().Format(http.TimeFormat))
	if r.Header.Get("x-api-key") != sc.s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "Unauthorized: invalid API key", true)
		return
	}
	p := strings.Split(strings.TrimPrefix(path, "/"), "/")
	token, err := strconv.ParseUint(p[2], 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid tokenId", false)
		return
	}
	addrs, next, more := sc.owners(p[1], token, r.URL.Query().Get("bookmark"))
	page := make([]map[string]any, 0, len(addrs))
	for _, a := range addrs {
		page = append(page, wireOwner(p[1], a, []Balance{Hold(token, 1)}, false))
	}
	sc.s.mu.Lock()
	sc.s.counts.OwnerPages++
	sc.s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"owners":     page,
		"pagination": map[string]any{"bookmark": next, "hasMore": more},
	})
}

// scriptedEntry fills a scripted record's blanks as Add does. Its _docId is
// the sha256 of the code's text exactly as sent, as BitBadges computes it.
func (s *Server) scriptedEntry(r Record, id string) *entry {
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
	return &entry{id: id, rec: r, docID: r.docID()}
}

// Code is the n-th code of a scripted list: 64 lower-case hex characters,
// the same for the same n.
func Code(n int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "bbtest-code-%d", n))
	return hex.EncodeToString(sum[:])
}
