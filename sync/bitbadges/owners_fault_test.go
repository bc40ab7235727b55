package bitbadges_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kioskd/kioskd/sync/bitbadges"
)

// ownerJSON is one BalanceDoc holding token 1 for ever.
func ownerJSON(addr string) string {
	return `{"bitbadgesAddress":"` + addr + `","collectionId":"17","balances":[{"amount":"1",` +
		`"tokenIds":[{"start":"1","end":"1"}],"ownershipTimes":[{"start":"1","end":"18446744073709551615"}]}]}`
}

// TestFaultOwnerBombPage: owners pages within the byte bound whose JSON
// holds 1.4 million values. As owners, before the fix the whole page was
// unmarshalled into a slice before its count was checked (hundreds of MB);
// now the page is refused at the record bound having read a few KiB. Inside
// one owner's balances, the owner is refused as malformed before they are
// decoded; inside another field of an owner, or beside the list, they are
// skipped without being kept.
func TestFaultOwnerBombPage(t *testing.T) {
	bomb := emptyRecords(bombRecords())
	small := emptyRecords(200000) // skipped values cost time only; see TestFaultRecordBombPage
	end := `],"pagination":{"bookmark":"","hasMore":false}}`
	tests := []struct {
		name      string
		page      string
		tooLarge  bool // refused with ErrTooLarge
		owners    int  // else handed on
		malformed int
		maxRead   int64 // bytes of the page read at most, 0 = all
	}{
		{"owners", `{"owners":[` + bomb + end, true, 0, 0, 64 << 10},
		{"inside one owner's balances", `{"owners":[{"bitbadgesAddress":"bb1a","balances":[` + bomb + `]}` + end, false, 0, 1, 0},
		{"inside one owner", `{"owners":[{"bitbadgesAddress":"bb1a","approvals":[` + small + `],"balances":[]}` + end, false, 1, 0, 0},
		{"beside the list", `{"debug":[` + small + `],"owners":[` + ownerJSON("bb1a") + end, false, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.page) > bitbadges.DefaultMaxBodyBytes {
				t.Fatalf("the page is %d bytes, past the body bound", len(tt.page))
			}
			body := []byte(tt.page)
			mux := http.NewServeMux()
			mux.HandleFunc("/collection/17/1/owners", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write(body)
			})
			c := &bitbadges.Client{APIURL: newHTTPServer(t, mux), ClientID: "c", APIKey: "k"}

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			calls := 0
			st, err := c.Owners(context.Background(), "17", 1, math.MaxInt, func(bitbadges.Owner) error { calls++; return nil })
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("page %d bytes: read %d bytes, allocated %.1f MB, err %v", len(tt.page), st.Bytes, float64(alloc)/(1<<20), err)

			if tt.tooLarge {
				if !errors.Is(err, bitbadges.ErrTooLarge) || !strings.Contains(err.Error(), "owners") {
					t.Fatalf("Owners = %v; want ErrTooLarge about the owners", err)
				}
				if calls != 0 || st.Owners != 0 || st.Malformed != 0 {
					t.Errorf("%d owners handed on, %d counted malformed; want none: the page is refused whole", calls, st.Malformed)
				}
			} else if err != nil || calls != tt.owners || st.Malformed != tt.malformed {
				t.Fatalf("Owners = %v, %d owners, %d malformed; want %d and %d", err, calls, st.Malformed, tt.owners, tt.malformed)
			}
			if tt.maxRead > 0 && st.Bytes > tt.maxRead {
				t.Errorf("read %d bytes of the page before refusing it; want at most %d", st.Bytes, tt.maxRead)
			}
			if alloc > 24<<20 {
				t.Errorf("allocated %.1f MB for one page; want under 24 MB", float64(alloc)/(1<<20))
			}
		})
	}
}

// TestOwnerValuesBound: an owner's balances of exactly MaxOwnerValues JSON
// values are decoded; one more makes the owner malformed.
func TestOwnerValuesBound(t *testing.T) {
	for _, tc := range []struct {
		values    int
		owners    int
		malformed int
	}{{bitbadges.MaxOwnerValues, 1, 0}, {bitbadges.MaxOwnerValues + 1, 0, 1}} {
		t.Run(strconv.Itoa(tc.values), func(t *testing.T) {
			// The balances below hold k+11 values: 10 opening brackets
			// and commas of their own, and k numbers (one more value
			// each after the first) in an unknown field.
			k := tc.values - 11
			nums := "1" + strings.Repeat(",1", k-1)
			doc := `{"bitbadgesAddress":"bb1a","balances":[{"x":[` + nums + `],"amount":"1",` +
				`"tokenIds":[{"start":"1","end":"1"}],"ownershipTimes":[{"start":"1","end":"1"}]}]}`
			page := `{"owners":[` + doc + `],"pagination":{"bookmark":"","hasMore":false}}`
			mux := http.NewServeMux()
			mux.HandleFunc("/collection/17/1/owners", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(page)) })
			c := &bitbadges.Client{APIURL: newHTTPServer(t, mux), ClientID: "c", APIKey: "k"}
			st, err := c.Owners(context.Background(), "17", 1, math.MaxInt, func(bitbadges.Owner) error { return nil })
			if err != nil || st.Owners != tc.owners || st.Malformed != tc.malformed {
				t.Fatalf("Owners = %v, %d owners, %d malformed; want %d and %d", err, st.Owners, st.Malformed, tc.owners, tc.malformed)
			}
		})
	}
}

// cyclicOwners serves owner pages whose bookmarks go round a circle of n,
// each page with one owner and more to come.
func cyclicOwners(t *testing.T, n int) (string, *atomic.Int64) {
	t.Helper()
	served := new(atomic.Int64)
	mux := http.NewServeMux()
	mux.HandleFunc("/collection/17/1/owners", func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		i := 0
		if b := r.URL.Query().Get("bookmark"); b != "" {
			i, _ = strconv.Atoi(strings.TrimPrefix(b, "b"))
		}
		next := (i + 1) % n
		fmt.Fprintf(w, `{"owners":[%s],"pagination":{"bookmark":"b%d","hasMore":true}}`, ownerJSON(fmt.Sprintf("bb1owner%d", i)), next)
	})
	return newHTTPServer(t, mux), served
}

// TestFaultOwnersBookmarks: owner listings that never end. A circle of
// bookmarks longer than 64 was never caught before the fix (the client
// forgot what it had seen every 64 pages) and no page bound stopped it; now
// every bookmark is remembered and the listing stops at its page bound.
func TestFaultOwnersBookmarks(t *testing.T) {
	tests := []struct {
		name     string
		circle   int
		maxPages int
		is       error
		pages    int // requests served
	}{
		// The first page, asked without a bookmark, is the circle's b0:
		// the repeat is seen when b0 comes back a second time.
		{"circle of 3", 3, math.MaxInt, bitbadges.ErrBookmarkLoop, 4},
		{"circle of 100", 100, math.MaxInt, bitbadges.ErrBookmarkLoop, 101},
		{"circle of 1000", 1000, math.MaxInt, bitbadges.ErrBookmarkLoop, 1001},
		{"endless, page bound", 1 << 30, 150, bitbadges.ErrPageBound, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, served := cyclicOwners(t, tt.circle)
			c := &bitbadges.Client{APIURL: u, ClientID: "c", APIKey: "k"}
			// The test's own bound: a regression ends here instead of never.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			st, err := c.Owners(ctx, "17", 1, tt.maxPages, func(bitbadges.Owner) error {
				if calls++; calls > 5000 {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, tt.is) || st.Pages != tt.pages || served.Load() != int64(tt.pages) {
				t.Fatalf("Owners = %v after %d pages (%d served); want %v after %d", err, st.Pages, served.Load(), tt.is, tt.pages)
			}
		})
	}
}
