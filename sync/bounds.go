package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	stdsync "sync"
	"time"

	"github.com/kioskd/kioskd/store"
)

// A pre-fetch ends when the server says so. A server that never does (a fresh
// bookmark on every page, or bookmarks going round in a circle too long for
// the client's short memory) would keep a sync running until the disk is
// full, so every pre-fetch is bounded by pages and by time, and every
// bookmark it was given is remembered for as long as it runs (resumptions
// included): one handed out twice is a cycle.
//
// The client pages inside bitbadges.Client.PrefetchFrom; the bounds watch its
// requests on their way out (GuardTransport), so they hold whatever the page
// decoding does. A Syncer whose client does not go through GuardTransport is
// bounded by time only.

// Defaults of the bounds when bitbadges.sync_max_pages and
// bitbadges.sync_max_duration are 0 (auto).
const (
	// FirstSyncMaxPages bounds a pre-fetch with no complete one before it to
	// size it from: 500,000 codes.
	FirstSyncMaxPages = 20000
	// PagesMargin is added to 3× the last complete pre-fetch's pages, so a
	// venue that grows by up to 25,000 codes between two syncs still syncs.
	PagesMargin = 1000
	// FirstSyncMaxDuration bounds a pre-fetch with no complete one in this
	// process to size it from.
	FirstSyncMaxDuration = 30 * time.Minute
	// DurationMargin is added to 3× the last complete pre-fetch's duration.
	DurationMargin = 5 * time.Minute
	// pageSize is BitBadges' fixed page: 25 records.
	pageSize = 25
)

// ErrSyncBound is a sync (its pre-fetch or its badge owners paging)
// stopped by its page or time bound.
var ErrSyncBound = errors.New("sync bound reached")

// ErrBookmarkCycle is a server handing out a bookmark it already gave in the
// same pre-fetch.
var ErrBookmarkCycle = errors.New("bookmark cycle")

// pageWatch follows the page requests of one pre-fetch, across its
// resumptions.
type pageWatch struct {
	maxPages int
	cancel   context.CancelCauseFunc // of the attempt running now

	mu     stdsync.Mutex
	pages  int // distinct pages requested
	last   string
	begun  bool
	seen   map[string]struct{}
	onPage func(pages int)
}

func newPageWatch(maxPages int) *pageWatch {
	return &pageWatch{maxPages: maxPages, seen: map[string]struct{}{}}
}

// request is called for every pre-fetch request, with its bookmark. The same
// bookmark again right away is a retry, an older API form or a resumption:
// the same page. A bookmark seen earlier, with others in between, is a cycle.
func (w *pageWatch) request(bookmark string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.begun && bookmark == w.last {
		return nil
	}
	var err error
	if _, ok := w.seen[bookmark]; ok {
		err = fmt.Errorf("%w: page %d asks for a bookmark the server already gave on page %d or before "+
			"(the server's list goes round in a circle; old cache kept)", ErrBookmarkCycle, w.pages+1, w.pages)
	} else if w.pages >= w.maxPages {
		err = fmt.Errorf("%w: %d pages read and the server still has more (bitbadges.sync_max_pages; old cache kept)",
			ErrSyncBound, w.pages)
	}
	if err != nil {
		// Cancelled rather than merely failed: the client retries failed
		// requests, never a cancelled context.
		w.cancel(err)
		return err
	}
	w.seen[bookmark] = struct{}{}
	w.last, w.begun = bookmark, true
	w.pages++
	if w.onPage != nil {
		w.onPage(w.pages)
	}
	return nil
}

func (w *pageWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pages
}

type watchKey struct{}

func withWatch(ctx context.Context, w *pageWatch) context.Context {
	return context.WithValue(ctx, watchKey{}, w)
}

// GuardTransport wraps next (nil = http.DefaultTransport) so that the
// pre-fetch requests of a Syncer's sync are counted and checked against its
// bounds before they leave. Other requests pass untouched. New installs it;
// a Syncer built by hand should use a client whose transport it wraps.
func GuardTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return guard{next: next}
}

type guard struct{ next http.RoundTripper }

func (g guard) RoundTrip(req *http.Request) (*http.Response, error) {
	w, _ := req.Context().Value(watchKey{}).(*pageWatch)
	if w != nil && strings.HasSuffix(req.URL.Path, "/siwbbRequests") {
		if err := w.request(requestBookmark(req)); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	return g.next.RoundTrip(req)
}

// requestBookmark reads the bookmark of a pre-fetch request: the query's in
// the GET form, the JSON body's in the older POST forms.
func requestBookmark(req *http.Request) string {
	if req.Method == http.MethodGet || req.GetBody == nil {
		return req.URL.Query().Get("bookmark")
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	data, _ := io.ReadAll(io.LimitReader(body, 1<<16))
	var v struct {
		Bookmark string `json:"bookmark"`
	}
	_ = json.NewDecoder(bytes.NewReader(data)).Decode(&v)
	return v.Bookmark
}

// bounds are one pre-fetch's limits.
type bounds struct {
	pages    int
	duration time.Duration
}

// bounds sizes a pre-fetch's limits: the configured ones, or 3× the last
// complete pre-fetch plus a margin. Its pages are known from this process,
// else estimated from the cache's size.
func (s *Syncer) bounds(cached int) bounds {
	b := bounds{pages: s.MaxPages, duration: s.MaxDuration}
	s.pmu.Lock()
	last := s.lastGood
	s.pmu.Unlock()
	if last.Pages == 0 && cached > 0 {
		last.Pages = (cached + pageSize - 1) / pageSize
	}
	if b.pages <= 0 {
		b.pages = FirstSyncMaxPages
		if last.Pages > 0 {
			b.pages = 3*last.Pages + PagesMargin
		}
	}
	if b.duration <= 0 {
		b.duration = FirstSyncMaxDuration
		if last.Duration > 0 {
			b.duration = 3*last.Duration + DurationMargin
		}
	}
	return b
}

// ownerPagesBound bounds the badge owner pages of one sync, all tokens
// together: bitbadges.sync_max_pages when set, else 3× the last complete
// sync's owner pages plus PagesMargin. Those pages are known from this
// process, else estimated from the owners the cache holds (a page of 25 per
// token at least); FirstSyncMaxPages when neither is known.
func (s *Syncer) ownerPagesBound() int {
	if s.MaxPages > 0 {
		return s.MaxPages
	}
	s.pmu.Lock()
	last := s.lastGood.OwnerPages
	s.pmu.Unlock()
	if last == 0 {
		if oc, ok := s.Cache.(ownersCache); ok {
			if info, err := oc.Owners(); err == nil && !info.SyncedAt.IsZero() {
				last = (info.Owners+pageSize-1)/pageSize + len(requiredTokens(s.Require))
			}
		}
	}
	if last > 0 {
		return 3*last + PagesMargin
	}
	return FirstSyncMaxPages
}

// ownersCache is a Cache that tells the owners it holds (the store's does).
type ownersCache interface {
	Owners() (store.OwnersInfo, error)
}
