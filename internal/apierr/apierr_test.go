package apierr

import (
	"errors"
	"strings"
	"testing"
)

var errUnauthorized = errors.New("unauthorized")

func TestError(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
		temp bool
	}{
		{Error{API: "bitbadges", Op: "pre-fetch", Status: 401, Message: "Invalid key", Kind: errUnauthorized},
			"bitbadges pre-fetch: HTTP 401 Unauthorized: Invalid key", false},
		{Error{Status: 400, Code: "expired_token", Message: "token expired"}, "HTTP 400 Bad Request expired_token: token expired", false},
		{Error{Status: 401, Hint: "check display.tenant_id", Kind: errUnauthorized}, "HTTP 401 Unauthorized (check display.tenant_id)", false},
		{Error{API: "bitbadges", Status: 503}, "bitbadges: HTTP 503 Service Unavailable", true},
		{Error{Status: 429}, "HTTP 429 Too Many Requests", true},
		{Error{Status: 599}, "HTTP 599", true},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if tc.e.Temporary() != tc.temp {
			t.Errorf("%q: Temporary() = %v", tc.want, !tc.temp)
		}
		if errors.Is(&tc.e, errUnauthorized) != (tc.e.Kind != nil) {
			t.Errorf("%q: errors.Is(ErrUnauthorized) wrong", tc.want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"token tok_SECRET expired", 200, "token [redacted] expired"},
		{"line\nbreak\x00", 200, "line break"},
		{"ab cd", 200, "ab cd"}, // a 2-character "secret" is not replaced
		{strings.Repeat("é", 10), 7, strings.Repeat("é", 3) + "…"},
	} {
		if got := Clean(tc.in, tc.limit, "tok_SECRET", "ab"); got != tc.want {
			t.Errorf("Clean(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("sk_live_x\x00\xff", 20)
	f.Add(strings.Repeat("é", 300), 200)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = max(1, limit%400)
		got := Clean(s, limit, "sk_live_x")
		if strings.Contains(got, "sk_live_x") {
			t.Fatalf("secret in %q", got)
		}
		if len(got) > limit+len("…") {
			t.Fatalf("%d bytes past the limit %d", len(got), limit)
		}
		for _, r := range got {
			if r < 0x20 {
				t.Fatalf("control character in %q", got)
			}
		}
	})
}
