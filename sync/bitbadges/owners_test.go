package bitbadges_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

func owners(t *testing.T, c *bitbadges.Client, coll string, token uint64) (map[string]bitbadges.Owner, bitbadges.OwnerStats, error) {
	t.Helper()
	got := map[string]bitbadges.Owner{}
	st, err := c.Owners(context.Background(), coll, token, math.MaxInt, func(o bitbadges.Owner) error {
		if _, dup := got[o.Address]; dup {
			t.Errorf("owner %s delivered twice", o.Address)
		}
		got[o.Address] = o
		return nil
	})
	return got, st, err
}

func TestOwnersPaging(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n         int
		wantPages int
	}{
		// Mint and Total are listed too: 23 people fill page one exactly,
		// and the server then answers an empty last page.
		{"one full page, empty last page", 23, 2},
		{"several pages", 100, 5},
		{"only the pseudo-owners", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newPair(t, bbtest.Options{})
			want := srv.AddOwners("17", 3, tc.n)
			srv.AddOwners("17", 4, 5) // another token's owners are not listed
			got, st, err := owners(t, c, "17", 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.n || st.Owners != tc.n || st.Skipped != 2 || st.Pages != tc.wantPages {
				t.Fatalf("got %d owners, stats %+v; want %d in %d pages, Mint and Total skipped", len(got), st, tc.n, tc.wantPages)
			}
			for _, a := range want {
				o, ok := got[a]
				if !ok || len(o.Balances) != 1 || o.Balances[0].Amount != 1 ||
					!slices.Equal(o.Balances[0].TokenIDs, []bitbadges.Range{{Start: 3, End: 3}}) ||
					!slices.Equal(o.Balances[0].OwnershipTimes, []bitbadges.Range{{Start: 1, End: bbtest.Forever}}) {
					t.Fatalf("owner %s = %+v", a, o)
				}
			}
		})
	}
}

func TestOwnersOwnershipTimes(t *testing.T) {
	srv, c := newPair(t, bbtest.Options{})
	from := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	until := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	srv.SetBalances("17", "bb1season", bbtest.HoldDuring(1, 2, from, until), bbtest.Hold(9, 1))
	got, _, err := owners(t, c, "17", 1)
	if err != nil {
		t.Fatal(err)
	}
	o := got["bb1season"]
	want := []bitbadges.Balance{
		{Amount: 2, TokenIDs: []bitbadges.Range{{Start: 1, End: 1}}, OwnershipTimes: []bitbadges.Range{{Start: uint64(from.UnixMilli()), End: uint64(until.UnixMilli()) - 1}}},
		{Amount: 1, TokenIDs: []bitbadges.Range{{Start: 9, End: 9}}, OwnershipTimes: []bitbadges.Range{{Start: 1, End: bbtest.Forever}}},
	}
	if len(o.Balances) != 2 || o.Balances[0].Amount != 2 || !slices.Equal(o.Balances[0].OwnershipTimes, want[0].OwnershipTimes) ||
		!slices.Equal(o.Balances[1].TokenIDs, want[1].TokenIDs) {
		t.Fatalf("balances = %+v; want %+v", o.Balances, want)
	}
	bals, err := c.Balance(context.Background(), "17", "bb1season")
	if err != nil || len(bals) != 2 {
		t.Fatalf("Balance = %+v, %v", bals, err)
	}
	if bals, err := c.Balance(context.Background(), "17", "bb1nobody"); err != nil || len(bals) != 0 {
		t.Fatalf("Balance of a non-holder = %+v, %v", bals, err)
	}
}

func TestParseOwnerShapes(t *testing.T) {
	srv, c := newPair(t, bbtest.Options{PageSize: 2000})
	// Every fifth owner comes with JSON numbers instead of strings.
	srv.AddOwners("5", 1, 20)
	got, st, err := owners(t, c, "5", 1)
	if err != nil || len(got) != 20 || st.Malformed != 0 {
		t.Fatalf("got %d, %+v, %v", len(got), st, err)
	}
}

func TestOwnersFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault bbtest.Fault
		ok    bool // a retry gets through
		is    error
	}{
		{"500 once is retried", bbtest.Fault{Kind: bbtest.Status, Status: 500, Times: 1, After: 1}, true, nil},
		{"dropped connection is retried", bbtest.Fault{Kind: bbtest.Drop, Times: 1, After: 1}, true, nil},
		{"truncated page is retried", bbtest.Fault{Kind: bbtest.Truncate, Times: 1, After: 1}, true, nil},
		{"500 for ever", bbtest.Fault{Kind: bbtest.Status, Status: 500, After: 1}, false, nil},
		{"401", bbtest.Fault{Kind: bbtest.Status, Status: 401, After: 1}, false, bitbadges.ErrUnauthorized},
		{"402", bbtest.Fault{Kind: bbtest.Status, Status: 402, After: 1}, false, nil},
		{"429", bbtest.Fault{Kind: bbtest.Status, Status: 429, RetryAfter: "30", After: 1}, false, nil},
		{"not JSON", bbtest.Fault{Kind: bbtest.Malformed, After: 1}, false, bitbadges.ErrMalformed},
		{"not a page", bbtest.Fault{Kind: bbtest.WrongShape, After: 1}, false, bitbadges.ErrMalformed},
		{"enormous body", bbtest.Fault{Kind: bbtest.Huge, After: 1, Size: 8 << 20}, false, bitbadges.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newPair(t, bbtest.Options{})
			c.PageRetries = 2
			srv.AddOwners("17", 1, 60)
			tc.fault.Route = bbtest.RouteOwners
			srv.Inject(tc.fault)
			got, _, err := owners(t, c, "17", 1)
			if tc.ok {
				if err != nil || len(got) != 60 {
					t.Fatalf("got %d owners, %v; want all 60 after a retry", len(got), err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; got %d owners", len(got))
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v; want %v", err, tc.is)
			}
		})
	}
}

func TestOwnersUnknownCollection(t *testing.T) {
	_, c := newPair(t, bbtest.Options{})
	_, _, err := owners(t, c, "404", 1)
	var ae *bitbadges.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusInternalServerError {
		t.Fatalf("err = %v; want the API's 500", err)
	}
}
