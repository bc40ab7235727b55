package authsignal

import (
	"strings"
	"testing"
)

func TestParseError(t *testing.T) {
	tests := []struct {
		body       string
		code, desc string
	}{
		{`{"error":"unauthorized","errorCode":"unauthorized","errorDescription":"bad key"}`, "unauthorized", "bad key"},
		{`{"error":"invalid_request"}`, "invalid_request", ""},
		{`<html>Bad gateway</html>`, "", "<html>Bad gateway</html>"},
		{`{"errorCode":"expired_token","errorDescription":"token tok_SECRET expired"}`, "expired_token", "token [redacted] expired"},
		{"line\nbreak", "", "line break"},
	}
	for _, tt := range tests {
		e := parseError(400, []byte(tt.body), "tok_SECRET")
		if e.Code != tt.code || e.Message != tt.desc {
			t.Errorf("%q: %q %q", tt.body, e.Code, e.Message)
		}
	}
}

func FuzzParseError(f *testing.F) {
	f.Add(401, []byte(`{"error":"unauthorized","errorCode":"unauthorized","errorDescription":"sk_live_x"}`))
	f.Add(500, []byte("sk_live_x\x00\xff"))
	f.Add(429, []byte(`{"errorDescription":"`+strings.Repeat("é", 300)+`"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError(status, body, "sk_live_x")
		msg := e.Error()
		if strings.Contains(msg, "sk_live_x") {
			t.Fatalf("secret in %q", msg)
		}
		if len(e.Message) > 200+len("…") || len(e.Code) > 64+len("…") {
			t.Fatalf("unbounded: %d %d", len(e.Code), len(e.Message))
		}
		for _, r := range msg {
			if r < 0x20 && r != ' ' {
				t.Fatalf("control character in %q", msg)
			}
		}
	})
}
