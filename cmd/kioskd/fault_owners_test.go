package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The badge owners paging (issue 19) against hostile owners pages, through
// the real binary: the fault suite of issue 17, for the owners.

// addBitBadgesLine adds "key: value" to the bitbadges section of e's config.
func (e *env) addBitBadgesLine(key, value string) {
	e.t.Helper()
	raw, err := os.ReadFile(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	s := strings.Replace(string(raw), "\nbitbadges:\n", "\nbitbadges:\n  "+key+": "+value+"\n", 1)
	if s == string(raw) {
		e.t.Fatal("no bitbadges section in the config")
	}
	if err := os.WriteFile(e.cfg, []byte(s), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// TestFaultOwnerBombPage: kioskd sync with access requirements against a
// server whose owners pages are 4 MiB of empty JSON objects (1.4 million):
// as owners the page is refused with a clear error, inside one owner's
// balances the owner is unusable (and with it the sync), inside another
// field of an owner or beside the list they are skipped. Each within the
// memory goal. Before the fix the owners took the binary to 270 MB and the
// balances to 480 MB.
func TestFaultOwnerBombPage(t *testing.T) {
	n := (4<<20 - 200) / 3
	if testing.Short() {
		n = 20000
	}
	bomb := "{}" + strings.Repeat(",{}", n-1)
	smaller := bomb[:len(bomb)-300] // room for an owner beside it
	end := `],"pagination":{"bookmark":"","hasMore":false}}`
	owner := `{"bitbadgesAddress":"bb1a","balances":[{"amount":"1","tokenIds":[{"start":"1","end":"3"}],` +
		`"ownershipTimes":[{"start":"1","end":"18446744073709551615"}]}]}`
	tests := []struct {
		name, page, want string // want: on stderr, exit 2; "" = exit 0
	}{
		{"owners", `{"owners":[` + bomb + end, "more than 2000 owners"},
		{"inside one owner's balances", `{"owners":[{"bitbadgesAddress":"bb1a","balances":[` + bomb + `]}` + end, "3 of 3 badge owners unusable"},
		{"inside one owner", `{"owners":[{"bitbadgesAddress":"bb1a","approvals":[` + bomb + `],"balances":[]}` + end, ""},
		{"beside the list", `{"debug":[` + smaller + `],"owners":[` + owner + end, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, gatedConfig)
			page := []byte(tt.page)
			// The pre-fetch and token renewal go to the stand-in; every
			// owners page (of tokens 1, 2 and 3) is the bomb.
			target, _ := url.Parse(e.srv.URL())
			target.Path = ""
			proxy := httputil.NewSingleHostReverseProxy(target)
			hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/owners") {
					w.Header().Set("Content-Type", "application/json")
					w.Write(page)
					return
				}
				proxy.ServeHTTP(w, r)
			}))
			t.Cleanup(hostile.Close)
			e.setConfigLine("api_url", hostile.URL+"/api/v0")

			r := e.kioskdPeak(60*time.Second, 1<<20, "sync", "-config", e.cfg)
			if r.killed != "" {
				t.Fatalf("kioskd sync killed: %s\n%s", r.killed, r.stderr)
			}
			switch {
			case tt.want == "" && r.code != exitOK:
				t.Errorf("kioskd sync: exit %d, stderr %q; want 0", r.code, r.stderr)
			case tt.want != "" && (r.code != exitError || !strings.Contains(r.stderr, tt.want)):
				t.Errorf("kioskd sync: exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
			checkPeak(t, fmt.Sprintf("gated sync, %d empty objects %s (%d bytes)", n, tt.name, len(page)), r)
		})
	}
}

// TestFaultOwnersBookmarks: kioskd sync with access requirements against an
// owners listing that goes round a circle of 100 bookmarks, or never ends
// (under sync_max_pages, under the automatic bound sized from the cache, and
// slowly under sync_max_duration). Before the fix none of them ended (the
// test's 60 s limit killed it); now each exits 2 naming its bound, and the
// cache of the previous sync is kept.
func TestFaultOwnersBookmarks(t *testing.T) {
	tests := []struct {
		name      string
		circle    int               // 0 = endless
		config    map[string]string // bitbadges keys
		delay     time.Duration     // per owners page
		want      string
		wantPages int // owners pages served by the script; 0 = not checked
	}{
		{name: "circle of 100", circle: 100, want: "bookmark did not advance", wantPages: 101},
		{name: "endless, sync_max_pages", config: map[string]string{"sync_max_pages": "60"}, want: "bitbadges.sync_max_pages", wantPages: 60},
		// The seeding sync left 60 owners of 3 tokens: 3 × (3 + 3) + 1,000.
		{name: "endless, automatic bound", want: "bitbadges.sync_max_pages", wantPages: 3*(3+3) + 1000},
		{name: "endless, sync_max_duration", config: map[string]string{"sync_max_duration": "1s"}, delay: 20 * time.Millisecond,
			want: "bitbadges.sync_max_duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, gatedConfig)
			e.srv.AddOwners("17", 1, 60)
			if out, errOut, code := e.kioskd("sync", "-config", e.cfg); code != exitOK || !strings.Contains(out, "synced 60 badge owners") {
				t.Fatalf("first sync: exit %d, %q %q", code, out, errOut)
			}
			e.srv.AddCodes(5)
			var served atomic.Int64
			sc := e.srv.ScriptOwners(func(_ string, _ uint64, bookmark string) ([]string, string, bool) {
				k := int(served.Add(1))
				time.Sleep(tt.delay)
				next := "bm-" + strconv.Itoa(k)
				if tt.circle > 0 {
					i, _ := strconv.Atoi(strings.TrimPrefix(bookmark, "bm-"))
					next = "bm-" + strconv.Itoa((i+1)%tt.circle)
				}
				return []string{fmt.Sprintf("bb1scripted%d", k)}, next, true
			})
			t.Cleanup(sc.Close)
			e.setAPI(sc.URL())
			for k, v := range tt.config {
				e.addBitBadgesLine(k, v)
			}
			start := time.Now()
			r := e.kioskdPeak(60*time.Second, 1<<20, "sync", "-config", e.cfg)
			took := time.Since(start)
			msg := ""
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.HasPrefix(l, "kioskd sync:") {
					msg = l
				}
			}
			t.Logf("%d owners pages in %v: %s", served.Load(), took.Round(time.Millisecond), msg)
			if r.killed != "" {
				t.Fatalf("kioskd sync killed after %d owners pages: %s\n%s", served.Load(), r.killed, tail(r.stderr, 2000))
			}
			if r.code != exitError || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "old cache kept") {
				t.Fatalf("sync: exit %d; want 2 and %q\n%s", r.code, tt.want, tail(r.stderr, 2000))
			}
			checkPeak(t, tt.name, r)
			if tt.wantPages > 0 && served.Load() != int64(tt.wantPages) {
				t.Errorf("%d owners pages served; want %d", served.Load(), tt.wantPages)
			}
			if got := e.cacheCount(); got != 42 {
				t.Errorf("cache %d after a bounded sync, want the old 42", got)
			}
		})
	}
}
