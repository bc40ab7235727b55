package bitbadges_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

func newPair(t *testing.T, o bbtest.Options) (*bbtest.Server, *bitbadges.Client) {
	t.Helper()
	srv := bbtest.NewServer(o)
	t.Cleanup(srv.Close)
	o = srv.Options()
	return srv, &bitbadges.Client{APIURL: srv.URL(), ClientID: o.ClientID, APIKey: o.APIKey,
		ClientSecret: o.ClientSecret, RetryDelay: time.Millisecond}
}

func token(t *testing.T, srv *bbtest.Server, c *bitbadges.Client) string {
	t.Helper()
	tok, err := c.RefreshAccessToken(context.Background(), srv.RefreshToken())
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return tok.AccessToken
}

func collect(t *testing.T, c *bitbadges.Client, access string) (map[string]bitbadges.Record, bitbadges.PageStats, error) {
	t.Helper()
	got := map[string]bitbadges.Record{}
	st, err := c.Prefetch(context.Background(), access, func(r bitbadges.Record) error {
		if _, dup := got[r.DocID]; dup {
			t.Errorf("record %s delivered twice", r)
		}
		got[r.DocID] = r
		return nil
	})
	return got, st, err
}

func TestPrefetchAll(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		disableGET bool
		wantForm   string
	}{
		{"empty", 0, false, "GET"},
		{"one page", 3, false, "GET"},
		{"exactly full pages (empty last page)", 100, false, "GET"},
		{"many pages", 263, false, "GET"},
		{"legacy POST", 130, true, "POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newPair(t, bbtest.Options{DisableGET: tc.disableGET})
			codes := srv.AddCodes(tc.n)
			got, st, err := collect(t, c, token(t, srv, c))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(codes) || st.Records != len(codes) {
				t.Fatalf("got %d records (stats %d), want %d", len(got), st.Records, len(codes))
			}
			if st.Deleted != tc.n/50 {
				t.Errorf("deleted = %d, want %d", st.Deleted, tc.n/50)
			}
			withCode := 0
			for _, code := range codes {
				r, ok := got[bitbadges.HashCode(code)]
				if !ok {
					t.Fatalf("code %s… missing", code[:6])
				}
				if r.Code != "" {
					withCode++
					if r.Code != code {
						t.Fatalf("code mismatch")
					}
				}
				if r.CreatedAt.IsZero() || !r.ExpiresAt.IsZero() || r.Address == "" || r.Chain != "Cosmos" {
					t.Fatalf("fields not decoded: %+v", r)
				}
			}
			if tc.n > 10 && (withCode == 0 || withCode == len(codes)) {
				t.Errorf("expected a mix of records with and without code, got %d/%d", withCode, len(codes))
			}
			wantPages := tc.n/25 + 1
			if st.Pages != wantPages {
				t.Errorf("pages = %d, want %d", st.Pages, wantPages)
			}
			if st.Form != tc.wantForm {
				t.Errorf("form = %q, want %q", st.Form, tc.wantForm)
			}
		})
	}
}

func TestPrefetchRemembersLegacyForm(t *testing.T) {
	srv, c := newPair(t, bbtest.Options{DisableGET: true})
	srv.AddCodes(60)
	tok := token(t, srv, c)
	for range 2 {
		if _, _, err := collect(t, c, tok); err != nil {
			t.Fatal(err)
		}
	}
	n := srv.Counts()
	if n.PrefetchGET != 1 {
		t.Errorf("GET tried %d times, want once (then remembered)", n.PrefetchGET)
	}
	if n.PrefetchPOST != 6 {
		t.Errorf("POST pages = %d, want 6", n.PrefetchPOST)
	}
}

func TestServerTimeReported(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	srv, c := newPair(t, bbtest.Options{Now: func() time.Time { return at }})
	var seen []time.Time
	c.OnServerTime = func(t time.Time) { seen = append(seen, t) }
	srv.AddCodes(30)
	_, st, err := collect(t, c, token(t, srv, c))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || !seen[2].Equal(at) || !st.ServerTime.Equal(at) {
		t.Fatalf("server times %v / %v, want 3 × %v", seen, st.ServerTime, at)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault bbtest.Fault
		is    error
		retry time.Duration
		check func(t *testing.T, err error)
	}{
		{name: "401", fault: bbtest.Fault{Kind: bbtest.Status, Status: 401}, is: bitbadges.ErrUnauthorized},
		{name: "402", fault: bbtest.Fault{Kind: bbtest.Status, Status: 402}, is: bitbadges.ErrCredits},
		{name: "429 seconds", fault: bbtest.Fault{Kind: bbtest.Status, Status: 429, RetryAfter: "42"},
			is: bitbadges.ErrRateLimited, retry: 42 * time.Second},
		{name: "429 without Retry-After", fault: bbtest.Fault{Kind: bbtest.Status, Status: 429}, is: bitbadges.ErrRateLimited},
		{name: "500", fault: bbtest.Fault{Kind: bbtest.Status, Status: 500}, check: func(t *testing.T, err error) {
			var ae *bitbadges.APIError
			if !errors.As(err, &ae) || ae.Status != 500 || !ae.Temporary() {
				t.Errorf("want a temporary APIError 500, got %v", err)
			}
		}},
		{name: "malformed", fault: bbtest.Fault{Kind: bbtest.Malformed}, is: bitbadges.ErrMalformed},
		{name: "wrong shape", fault: bbtest.Fault{Kind: bbtest.WrongShape}, is: bitbadges.ErrMalformed},
		{name: "huge", fault: bbtest.Fault{Kind: bbtest.Huge}, is: bitbadges.ErrTooLarge},
		{name: "truncated", fault: bbtest.Fault{Kind: bbtest.Truncate}},
		{name: "dropped", fault: bbtest.Fault{Kind: bbtest.Drop}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newPair(t, bbtest.Options{})
			srv.AddCodes(80)
			tok := token(t, srv, c)
			tc.fault.Route = bbtest.RoutePrefetch
			tc.fault.After = 1 // mid-pagination
			srv.Inject(tc.fault)
			got, _, err := collect(t, c, tok)
			if err == nil {
				t.Fatalf("no error; got %d records", len(got))
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if d, _ := bitbadges.RetryAfter(err); d != tc.retry {
				t.Errorf("RetryAfter = %v, want %v", d, tc.retry)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

func TestPageRetries(t *testing.T) {
	srv, c := newPair(t, bbtest.Options{})
	codes := srv.AddCodes(80)
	c.PageRetries = 2
	tok := token(t, srv, c)
	srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, After: 2, Times: 2, Kind: bbtest.Status, Status: 503})
	got, st, err := collect(t, c, tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(codes) || st.Retries != 2 {
		t.Fatalf("records %d/%d, retries %d", len(got), len(codes), st.Retries)
	}
	// A 401 is not retried.
	srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Status, Status: 401, Times: 1})
	if _, st, err := collect(t, c, tok); !errors.Is(err, bitbadges.ErrUnauthorized) || st.Retries != 0 {
		t.Fatalf("401: err %v, retries %d", err, st.Retries)
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-3", 0}, {"120", 2 * time.Minute}, {"junk", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999", 24 * time.Hour},
	} {
		if got := bitbadges.ParseRetryAfter(tc.v, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := now
	srv, c := newPair(t, bbtest.Options{AccessTTL: time.Hour, Now: func() time.Time { return clock }})
	srv.AddCodes(5)
	tok, err := c.RefreshAccessToken(context.Background(), srv.RefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if !tok.AccessExpiry.Equal(now.Add(time.Hour)) {
		t.Errorf("expiry %v", tok.AccessExpiry)
	}
	clock = now.Add(2 * time.Hour)
	if _, _, err := collect(t, c, tok.AccessToken); !errors.Is(err, bitbadges.ErrUnauthorized) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestRefreshRotation(t *testing.T) {
	srv, c := newPair(t, bbtest.Options{RefreshToken: "first-refresh-token"})
	ctx := context.Background()
	tok, err := c.RefreshAccessToken(ctx, "first-refresh-token")
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "first-refresh-token" || tok.RefreshToken != srv.RefreshToken() {
		t.Fatal("refresh token not rotated")
	}
	_, err = c.RefreshAccessToken(ctx, "first-refresh-token")
	if !errors.Is(err, bitbadges.ErrUnauthorized) {
		t.Fatalf("reusing a rotated refresh token: %v, want 401", err)
	}
	if strings.Contains(err.Error(), "first-refresh-token") {
		t.Fatal("refresh token in error")
	}
	if _, err := c.RefreshAccessToken(ctx, tok.RefreshToken); err != nil {
		t.Fatalf("new refresh token: %v", err)
	}
}

func TestExchange(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	srv, c := newPair(t, bbtest.Options{Now: func() time.Time { return now }})
	code := strings.Repeat("ab", 32)
	// A day old: without issuedAtTimeWindowMs 0 this would be "Not recent enough".
	srv.Add(bbtest.Record{Code: code, Address: "0xabc", Chain: "ETH", CreatedAt: now.Add(-24 * time.Hour)})
	ctx := context.Background()
	x, err := c.Exchange(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if x.Address != "0xabc" || x.Chain != "ETH" || !x.ServerTime.Equal(now) {
		t.Errorf("exchanged %+v", x)
	}
	if !srv.Exchanged(code) {
		t.Error("server did not consume the code")
	}
	_, err = c.Exchange(ctx, code)
	var ae *bitbadges.APIError
	if !errors.As(err, &ae) || ae.Status != 500 {
		t.Fatalf("second exchange: %v, want a 500", err)
	}
	if strings.Contains(err.Error(), code) {
		t.Fatal("code in error")
	}
	if _, err := c.Exchange(ctx, strings.Repeat("cd", 32)); err == nil {
		t.Fatal("unknown code exchanged")
	}
	c.ClientSecret = "wrong"
	srv.AddCode(strings.Repeat("ef", 32), "x")
	if _, err := c.Exchange(ctx, strings.Repeat("ef", 32)); err == nil {
		t.Fatal("bad client secret accepted")
	}
}

func TestExchangeNotVerified(t *testing.T) {
	srv := http.NewServeMux()
	srv.HandleFunc("/siwbb/token", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"verificationResponse": map[string]any{
			"success": false, "errorMessage": "Not recent enough for " + strings.Repeat("ab", 32)}})
	})
	ts := newHTTPServer(t, srv)
	c := &bitbadges.Client{APIURL: ts, ClientID: "c", APIKey: "k"}
	_, err := c.Exchange(context.Background(), strings.Repeat("ab", 32))
	if !errors.Is(err, bitbadges.ErrNotVerified) || !strings.Contains(err.Error(), "Not recent enough") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), strings.Repeat("ab", 32)) {
		t.Fatal("code in error")
	}
}

func TestRedactsServerMessage(t *testing.T) {
	mux := http.NewServeMux()
	code := strings.Repeat("0f", 32)
	mux.HandleFunc("/developerApps/siwbbRequests", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"errorMessage": "boom key=super-secret-api-key code=" + code + " token=Bearer the-access-token-value",
			"error":        strings.Repeat("x", 5000)})
	})
	c := &bitbadges.Client{APIURL: newHTTPServer(t, mux), ClientID: "c", APIKey: "super-secret-api-key"}
	_, err := c.Prefetch(context.Background(), "the-access-token-value", func(bitbadges.Record) error { return nil })
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"super-secret-api-key", code, "the-access-token-value"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q leaks %q", err, s)
		}
	}
	if len(err.Error()) > 400 {
		t.Errorf("error not truncated: %d bytes", len(err.Error()))
	}
}

func TestRecordNeverPrintsCode(t *testing.T) {
	code := strings.Repeat("9a", 32)
	r := bitbadges.Record{Code: code, DocID: bitbadges.HashCode(code)}
	for _, s := range []string{r.String(), r.GoString(), r.LogValue().String()} {
		if strings.Contains(s, code) {
			t.Fatalf("%q shows the code", s)
		}
	}
}

func TestSlowDripTimesOut(t *testing.T) {
	srv, c := newPair(t, bbtest.Options{})
	srv.AddCodes(10)
	tok := token(t, srv, c)
	c.RequestTimeout = 100 * time.Millisecond
	srv.Inject(bbtest.Fault{Route: bbtest.RoutePrefetch, Kind: bbtest.Drip, Delay: 5 * time.Millisecond})
	start := time.Now()
	_, _, err := collect(t, c, tok)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow drip: %v, want a deadline error", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}

func TestPrefetchFormFollowsServer(t *testing.T) {
	// A server that knows only the oldest POST path, then only GET.
	var getOK bool
	var calls []string
	mux := http.NewServeMux()
	page := `{"siwbbRequests":[],"pagination":{"bookmark":"","hasMore":false}}`
	mux.HandleFunc("/developerApps/siwbbRequests", func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" developerApps")
		if r.Method == http.MethodGet && getOK {
			_, _ = w.Write([]byte(page))
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	mux.HandleFunc("/developerApp/siwbbRequests", func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" developerApp")
		if r.Method == http.MethodPost && !getOK {
			_, _ = w.Write([]byte(page))
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	c := &bitbadges.Client{APIURL: newHTTPServer(t, mux), ClientID: "c", APIKey: "k"}
	fn := func(bitbadges.Record) error { return nil }
	if _, err := c.Prefetch(context.Background(), "t", fn); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Prefetch(context.Background(), "t", fn); err != nil {
		t.Fatal(err)
	}
	getOK = true
	if st, err := c.Prefetch(context.Background(), "t", fn); err != nil || st.Form != "GET" {
		t.Fatalf("form %q, err %v", st.Form, err)
	}
	want := "[GET developerApps POST developerApps POST developerApp POST developerApp POST developerApp GET developerApps]"
	if fmt.Sprint(calls) != want {
		t.Fatalf("calls %v\nwant  %s", calls, want)
	}
}
