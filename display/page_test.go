package display

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandlerRoutes(t *testing.T) {
	r := newRig(t, rigOpts{})
	r.wait(Scan, "")
	mux := http.NewServeMux()
	mux.Handle("/display/", r.ctrl.Handler())
	web := httptest.NewServer(mux)
	t.Cleanup(func() { web.CloseClientConnections(); web.Close() })

	tests := []struct {
		path, method string
		status       int
		ctype        string
		contains     string
	}{
		{"/display/", "GET", 200, "text/html", `data-state="scan"`},
		{"/display/", "GET", 200, "text/html", `<svg xmlns="http://www.w3.org/2000/svg"`},
		{"/display/state.json", "GET", 200, "application/json", `"state":"scan"`},
		{"/display/qr.svg", "GET", 200, "image/svg+xml", `<path fill="#000"`},
		{"/display/nope", "GET", 404, "", ""},
		{"/display/", "POST", 405, "", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, web.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(string(body), tt.contains) {
			t.Errorf("%s %s: %d %q, body %.120q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if tt.status == 200 && resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: cacheable", tt.path)
		}
	}
	// The page references nothing outside itself.
	resp, _ := http.Get(web.URL + "/display/")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, bad := range []string{"http://", "https://", "src=", "url(", "@import"} {
		if i := strings.Index(string(page), bad); i >= 0 && !strings.HasPrefix(string(page[i:]), "http://www.w3.org/2000/svg") {
			t.Errorf("page refers to an external asset: %q", page[i:min(i+60, len(page))])
		}
	}
}

// TestEvents reads the event stream as a browser would: the current screen
// at once, then each change.
func TestEvents(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, rigOpts{})
	r.wait(Scan, "")
	web := httptest.NewServer(r.ctrl.Handler())
	t.Cleanup(func() { web.CloseClientConnections(); web.Close() })

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", web.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan event, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e event
				if json.Unmarshal([]byte(data), &e) == nil {
					events <- e
				}
			}
		}
	}()
	next := func(want string) event {
		t.Helper()
		for e := range events {
			if e.State == want {
				return e
			}
		}
		t.Fatalf("stream ended before %s", want)
		return event{}
	}
	e := next("scan")
	if !strings.HasPrefix(e.SVG, "<svg") || e.Title != "Scan with your phone" {
		t.Fatalf("scan event %+v", e)
	}
	id := r.srv.Latest()
	phone := r.phone("usr_sse")
	phone.Claim(ctx, id)
	if e := next("check-phone"); e.SVG != "" {
		t.Fatal("QR sent with the claimed screen")
	}
	phone.Approve(ctx, id)
	next("welcome")
}
