package bitbadges_test

import (
	"context"
	"net/http"
	stdsync "sync"
	"testing"
	"time"

	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// TestServerTimeOnlyFromSuccess: a Date from an answer that is not a
// success of the API (401, 402, 5xx, a 200 that is not the API's JSON) must
// not reach OnServerTime, or one bad answer moves the kiosk's trusted time
// (issue 15, item 3). A success's Date is reported, however odd: bounding it
// is the store's job.
func TestServerTimeOnlyFromSuccess(t *testing.T) {
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		fault    bbtest.Fault
		call     string // "prefetch", "refresh" or "exchange"
		reported bool   // whether the future Date must be reported
	}{
		{"402 on the pre-fetch", bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: http.StatusPaymentRequired}, "prefetch", false},
		{"500 on the pre-fetch", bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: http.StatusInternalServerError}, "prefetch", false},
		{"503 with Retry-After", bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: http.StatusServiceUnavailable, RetryAfter: "1"}, "prefetch", false},
		{"401 on the refresh", bbtest.Fault{Route: bbtest.RouteToken, Kind: bbtest.Status, Status: http.StatusUnauthorized}, "refresh", false},
		{"500 on an exchange", bbtest.Fault{Route: bbtest.RouteToken, Kind: bbtest.Status, Status: http.StatusInternalServerError}, "exchange", false},
		{"200 that is not the API's", bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Malformed}, "prefetch", false},
		{"successful pre-fetch", bbtest.Fault{Route: bbtest.RoutePrefetch}, "prefetch", true},
		{"successful refresh", bbtest.Fault{Route: bbtest.RouteToken}, "refresh", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newPair(t, bbtest.Options{})
			code := srv.AddCodes(3)[0]
			var access string
			if tt.call == "prefetch" {
				access = token(t, srv, c)
			}
			var mu stdsync.Mutex
			var seen []time.Time
			c.OnServerTime = func(at time.Time) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, at)
			}
			f := tt.fault
			f.Date = future
			srv.Inject(f)
			var err error
			switch tt.call {
			case "prefetch":
				_, err = c.Prefetch(context.Background(), access, func(bitbadges.Record) error { return nil })
			case "refresh":
				_, err = c.RefreshAccessToken(context.Background(), srv.RefreshToken())
			case "exchange":
				_, err = c.Exchange(context.Background(), code)
			}
			if (err == nil) != tt.reported {
				t.Fatalf("call error %v; want an error: %v", err, !tt.reported)
			}
			mu.Lock()
			defer mu.Unlock()
			got := false
			for _, at := range seen {
				if at.Equal(future) {
					got = true
				}
			}
			if got != tt.reported {
				t.Fatalf("future Date reported: %v, want %v (seen %v)", got, tt.reported, seen)
			}
		})
	}
}
