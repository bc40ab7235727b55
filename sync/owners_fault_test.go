package sync

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kioskd/kioskd/store"
	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// TestFaultOwnersBounds: a gated sync whose owners listing never ends (a
// fresh bookmark on every page) or goes round a circle longer than 64. Before
// the fix the circle was never caught, no page bound applied, and the owners
// paging ran under the caller's context, outside bitbadges.sync_max_duration:
// each case ran until the test's own 20 s timeout. Now each stops at its
// bound with an error naming it, and the old snapshot, codes included, keeps
// serving.
func TestFaultOwnersBounds(t *testing.T) {
	tests := []struct {
		name      string
		circle    int // bookmarks go round a circle of this many; 0 = endless
		maxPages  int
		maxDur    time.Duration
		pageDelay time.Duration
		fresh     bool // a new process: the bound is estimated from the cache
		is        error
		wantPages int    // owner pages served; 0 = not checked (time bound)
		want      string // in the error
		kind      string // ErrorKind
	}{
		{name: "circle of 100", circle: 100, maxDur: time.Minute, is: bitbadges.ErrBookmarkLoop, wantPages: 101, want: "bookmark", kind: "bookmark-cycle"},
		{name: "endless, page bound", maxPages: 60, maxDur: time.Minute, is: ErrSyncBound, wantPages: 60, want: "bitbadges.sync_max_pages", kind: "bound"},
		// 3× the seeding sync's one owner page + 1,000.
		{name: "endless, automatic page bound", maxDur: time.Minute, is: ErrSyncBound, wantPages: 3 + PagesMargin, want: "bitbadges.sync_max_pages", kind: "bound"},
		// 3× (the cache's 3 owners in pages of 25, for 1 token: 2) + 1,000.
		{name: "endless, automatic page bound from the cache", maxDur: time.Minute, fresh: true, is: ErrSyncBound,
			wantPages: 6 + PagesMargin, want: "bitbadges.sync_max_pages", kind: "bound"},
		{name: "endless, time bound", maxPages: 1_000_000, maxDur: 300 * time.Millisecond, pageDelay: 5 * time.Millisecond,
			is: ErrSyncBound, want: "bitbadges.sync_max_duration", kind: "bound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, bbtest.Options{})
			e.syncer.Require = gate("17", store.Range{Start: 1, End: 1})
			old := e.srv.AddOwners("17", 1, 3)
			e.seed(t, 10)
			beforeOwners, _ := e.st.Owners()
			before, _ := e.st.Meta()

			e.srv.AddCodes(5)
			var served atomic.Int64
			sc := e.srv.ScriptOwners(func(_ string, _ uint64, bookmark string) ([]string, string, bool) {
				n := int(served.Add(1))
				time.Sleep(tc.pageDelay)
				next := "bm-" + strconv.Itoa(n)
				if tc.circle > 0 {
					i, _ := strconv.Atoi(strings.TrimPrefix(bookmark, "bm-"))
					next = "bm-" + strconv.Itoa((i+1)%tc.circle)
				}
				return []string{fmt.Sprintf("bb1scripted%d", n)}, next, true
			})
			t.Cleanup(sc.Close)
			e.client.APIURL = sc.URL()
			e.syncer.MaxPages, e.syncer.MaxDuration = tc.maxPages, tc.maxDur
			if tc.fresh {
				e.syncer.lastGood = lastGood{}
			}

			start := time.Now()
			_, err := e.sync(t)
			took := time.Since(start)
			t.Logf("%d owner pages in %v: %v", served.Load(), took, err)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "old cache kept") {
				t.Fatalf("sync = %v after %d owner pages, %v; want %v naming %q", err, served.Load(), took, tc.is, tc.want)
			}
			if k := ErrorKind(err); k != tc.kind {
				t.Errorf("ErrorKind = %q; want %q", k, tc.kind)
			}
			if tc.wantPages > 0 && int(served.Load()) != tc.wantPages {
				t.Errorf("served %d owner pages; want %d", served.Load(), tc.wantPages)
			}
			if tc.wantPages == 0 && took > tc.maxDur+5*time.Second {
				t.Errorf("took %v with a %v bound", took, tc.maxDur)
			}
			after, _ := e.st.Meta()
			afterOwners, _ := e.st.Owners()
			if after.Count != before.Count || !after.LastSync.Equal(before.LastSync) {
				t.Fatalf("codes changed: %+v → %+v", before, after)
			}
			if afterOwners.Owners != beforeOwners.Owners || !afterOwners.SyncedAt.Equal(beforeOwners.SyncedAt) {
				t.Fatalf("owners changed: %+v → %+v", beforeOwners, afterOwners)
			}
			if _, h, _ := e.st.Holdings(old[0], []string{"17"}); len(h) != 1 {
				t.Fatal("an old owner was lost")
			}
			if _, h, _ := e.st.Holdings("bb1scripted1", []string{"17"}); len(h) != 0 {
				t.Fatal("an owner from the bounded sync is served")
			}
		})
	}
}
