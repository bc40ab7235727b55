package bitbadges_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// bombPage is a pre-fetch page of n empty records: 3 bytes each, so 4 MiB
// (the body bound) holds 1.4 million of them.
func bombPage(n int) []byte {
	var b bytes.Buffer
	b.Grow(3*n + 80)
	b.WriteString(`{"siwbbRequests":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString(`],"pagination":{"bookmark":"","hasMore":false}}`)
	return b.Bytes()
}

// bombRecords is the most empty records that fit the default body bound.
func bombRecords() int {
	if testing.Short() {
		return 20000
	}
	return (bitbadges.DefaultMaxBodyBytes - 80) / 3
}

// TestFaultRecordBombPage: one page within the byte bound but holding 1.4
// million records. Before the fix the client decoded every one of them
// (hundreds of MB) and reported a successful pre-fetch of nothing; now it
// stops at the record bound, having read a few KiB of the page.
func TestFaultRecordBombPage(t *testing.T) {
	page := bombPage(bombRecords())
	if len(page) > bitbadges.DefaultMaxBodyBytes {
		t.Fatalf("the bomb page is %d bytes, past the body bound", len(page))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/developerApps/siwbbRequests", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(page)
	})
	c := &bitbadges.Client{APIURL: newHTTPServer(t, mux), ClientID: "c", APIKey: "k"}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	calls := 0
	st, err := c.Prefetch(context.Background(), "access", func(bitbadges.Record) error { calls++; return nil })
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("page %d bytes: read %d bytes, allocated %.1f MB, err %v", len(page), st.Bytes, float64(alloc)/(1<<20), err)

	if !errors.Is(err, bitbadges.ErrTooLarge) || !strings.Contains(err.Error(), "records") {
		t.Fatalf("Prefetch = %v; want ErrTooLarge about the records", err)
	}
	if calls != 0 || st.Records != 0 || st.Malformed != 0 {
		t.Errorf("%d records handed on, %d counted malformed; want none: the page is refused whole", calls, st.Malformed)
	}
	// The page is refused as soon as the bound is passed, not after it was read.
	if st.Bytes >= 64<<10 {
		t.Errorf("read %d bytes of the page before refusing it; want under 64 KiB", st.Bytes)
	}
	if alloc > 8<<20 {
		t.Errorf("allocated %.1f MB for one refused page; want under 8 MB", float64(alloc)/(1<<20))
	}
}

// TestPageRecordBound: a page of exactly MaxPageRecords records is read, one
// more is refused, whatever the bound; 0 means the default.
func TestPageRecordBound(t *testing.T) {
	tests := []struct {
		name            string
		pageSize, bound int
		wantErr         bool
	}{
		{"at the bound", 30, 30, false},
		{"one past the bound", 31, 30, true},
		{"BitBadges' 25 under the default", 25, 0, false},
		{"default bound reached", bitbadges.DefaultMaxPageRecords, 0, false},
		{"default bound passed", bitbadges.DefaultMaxPageRecords + 1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newPair(t, bbtest.Options{PageSize: tt.pageSize})
			codes := srv.AddCodes(tt.pageSize + 5) // two pages
			c.MaxPageRecords = tt.bound
			got, _, err := collect(t, c, token(t, srv, c))
			if tt.wantErr {
				if !errors.Is(err, bitbadges.ErrTooLarge) || len(got) != 0 {
					t.Fatalf("%d records, err %v; want ErrTooLarge and none", len(got), err)
				}
				return
			}
			if err != nil || len(got) != len(codes) {
				t.Fatalf("%d of %d records, err %v", len(got), len(codes), err)
			}
		})
	}
}
