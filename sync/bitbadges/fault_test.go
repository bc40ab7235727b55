package bitbadges_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// emptyRecords is n "{}" joined by commas: 3 bytes a record, so 4 MiB (the
// body bound) holds 1.4 million of them.
func emptyRecords(n int) string {
	var b strings.Builder
	b.Grow(3 * n)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	return b.String()
}

// bombRecords is the most empty records that fit the default body bound
// with room for the page around them.
func bombRecords() int {
	if testing.Short() {
		return 20000
	}
	return (bitbadges.DefaultMaxBodyBytes - 200) / 3
}

// TestFaultRecordBombPage: pages within the byte bound whose JSON holds 1.4
// million values. Spread as records, before the fix the client decoded
// every one (1.2 GB allocated) and reported a successful pre-fetch of
// nothing; now it stops at the record bound, having read a few KiB. Inside
// one record or beside the list, they are skipped without being kept.
func TestFaultRecordBombPage(t *testing.T) {
	bomb := emptyRecords(bombRecords())
	// Skipped values cost decoding time only (8 s under -race at full
	// size); the binary's fault test measures them at full size.
	small := emptyRecords(200000)
	tests := []struct {
		name     string
		page     string
		tooLarge bool  // refused with ErrTooLarge, else read with one malformed record
		maxRead  int64 // bytes of the page read at most, 0 = all
	}{
		{"records", `{"siwbbRequests":[` + bomb + `],"pagination":{"bookmark":"","hasMore":false}}`, true, 64 << 10},
		{"inside one record", `{"siwbbRequests":[{"scopes":[` + small + `]}],"pagination":{"bookmark":"","hasMore":false}}`, false, 0},
		{"beside the list", `{"debug":[` + small + `],"siwbbRequests":[{}],"pagination":{"bookmark":"","hasMore":false}}`, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.page) > bitbadges.DefaultMaxBodyBytes {
				t.Fatalf("the page is %d bytes, past the body bound", len(tt.page))
			}
			body := []byte(tt.page) // once, outside the measured allocations
			mux := http.NewServeMux()
			mux.HandleFunc("/developerApps/siwbbRequests", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write(body)
			})
			c := &bitbadges.Client{APIURL: newHTTPServer(t, mux), ClientID: "c", APIKey: "k"}

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			calls := 0
			st, err := c.Prefetch(context.Background(), "access", func(bitbadges.Record) error { calls++; return nil })
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("page %d bytes: read %d bytes, allocated %.1f MB, err %v", len(tt.page), st.Bytes, float64(alloc)/(1<<20), err)

			if tt.tooLarge {
				if !errors.Is(err, bitbadges.ErrTooLarge) || !strings.Contains(err.Error(), "records") {
					t.Fatalf("Prefetch = %v; want ErrTooLarge about the records", err)
				}
				if calls != 0 || st.Records != 0 || st.Malformed != 0 {
					t.Errorf("%d records handed on, %d counted malformed; want none: the page is refused whole", calls, st.Malformed)
				}
			} else if err != nil || calls != 0 || st.Malformed != 1 {
				t.Fatalf("Prefetch = %v, %d records, %d malformed; want the one empty record skipped", err, calls, st.Malformed)
			}
			if tt.maxRead > 0 && st.Bytes > tt.maxRead {
				t.Errorf("read %d bytes of the page before refusing it; want at most %d", st.Bytes, tt.maxRead)
			}
			// The decoder's buffer grows to hold the largest value (at most
			// the 4 MiB body): that, not the values' count, is the cost.
			if alloc > 24<<20 {
				t.Errorf("allocated %.1f MB for one page; want under 24 MB", float64(alloc)/(1<<20))
			}
		})
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

// closedOnDeadline answers 200 with a body that yields nothing until the
// request's context ends and then fails the way net/http's transport may
// when a deadline closes the connection mid-read: "use of closed network
// connection", not the deadline itself (seen on a loaded CI machine).
type closedOnDeadline struct{}

func (closedOnDeadline) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: closedBody{r.Context()}, Request: r}, nil
}

type closedBody struct{ ctx context.Context }

func (b closedBody) Read([]byte) (int, error) {
	<-b.ctx.Done()
	return 0, fmt.Errorf("read tcp 127.0.0.1:1->127.0.0.1:2: %w", net.ErrClosed)
}

func (closedBody) Close() error { return nil }

// A body read cut by the request timeout is a timeout, whatever error the
// transport's closed connection gave the reader: the sync's error kind and
// backoff depend on it.
func TestBodyReadCutByTimeoutIsATimeout(t *testing.T) {
	c := &bitbadges.Client{APIURL: "http://api.invalid", APIKey: "k", HTTP: &http.Client{Transport: closedOnDeadline{}}, RequestTimeout: 20 * time.Millisecond}
	_, err := c.Prefetch(context.Background(), "tok", func(bitbadges.Record) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Prefetch = %v, want a deadline error", err)
	}
}
