package bbtest_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// A stand-in with one named code and a few random ones, read back with the
// real client the way kioskd's sync does.
func ExampleNewServer() {
	srv := bbtest.NewServer(bbtest.Options{ClientID: "demo-app", APIKey: "demo-key",
		ClientSecret: "demo-secret", RefreshToken: "demo-refresh"})
	defer srv.Close()
	srv.AddCode(strings.Repeat("ab", 32), "Front door")
	codes := srv.AddCodes(30)
	srv.Delete(codes[0]) // soft-deleted: still listed with deletedAt, the client skips it

	c := &bitbadges.Client{APIURL: srv.URL(), ClientID: "demo-app", APIKey: "demo-key", ClientSecret: "demo-secret"}
	ctx := context.Background()
	tok, err := c.RefreshAccessToken(ctx, "demo-refresh")
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	st, err := c.Prefetch(ctx, tok.AccessToken, func(bitbadges.Record) error { n++; return nil })
	fmt.Println(n, st.Pages, st.Deleted, err)
	// The refresh token rotated: the first one is dead now.
	_, err = c.RefreshAccessToken(ctx, "demo-refresh")
	fmt.Println(err)
	// Output:
	// 30 2 1 <nil>
	// bitbadges token refresh: HTTP 401 Unauthorized: Invalid refresh token
}
