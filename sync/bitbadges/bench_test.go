package bitbadges_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/kioskd/kioskd/sync/bitbadges"
	"github.com/kioskd/kioskd/sync/bitbadges/bbtest"
)

// BenchmarkPrefetch measures the client alone (records counted, not
// stored) over loopback against the stand-in: 2,500 codes, 100 pages.
func BenchmarkPrefetch(b *testing.B) {
	srv := bbtest.NewServer(bbtest.Options{})
	defer srv.Close()
	srv.AddCodes(2500)
	o := srv.Options()
	c := &bitbadges.Client{APIURL: srv.URL(), ClientID: o.ClientID, APIKey: o.APIKey, ClientSecret: o.ClientSecret}
	tok, err := c.RefreshAccessToken(context.Background(), o.RefreshToken)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := c.Prefetch(context.Background(), tok.AccessToken, func(bitbadges.Record) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePage measures decoding and checking one full 25-record page.
func BenchmarkParsePage(b *testing.B) {
	srv := bbtest.NewServer(bbtest.Options{})
	defer srv.Close()
	srv.AddCodes(25)
	o := srv.Options()
	c := &bitbadges.Client{APIURL: srv.URL(), ClientID: o.ClientID, APIKey: o.APIKey, ClientSecret: o.ClientSecret}
	tok, err := c.RefreshAccessToken(context.Background(), o.RefreshToken)
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/developerApps/siwbbRequests?clientId="+o.ClientID, nil)
	req.Header.Set("x-api-key", o.APIKey)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := bitbadges.ParsePage(body)
		if err != nil || len(p.Records) != 25 {
			b.Fatal(err)
		}
		for _, r := range p.Records {
			if _, err := bitbadges.ParseRecord(r); err != nil && !bitbadges.IsDeleted(err) {
				b.Fatal(err)
			}
		}
	}
}
