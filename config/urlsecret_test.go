package config

import (
	"strings"
	"testing"
)

// A URL refused by the config may hold a login or a token; the refusal
// must name the key without repeating them.
func TestRefusedURLsDoNotRepeatCredentials(t *testing.T) {
	tests := []struct{ name, yaml, key string }{
		{"api url bad scheme", "bitbadges:\n  api_url: ftp://venue:Pa55word@x/api\n", "bitbadges.api_url"},
		{"api url unparsable", "bitbadges:\n  api_url: \"https://venue:Pa55word@x y/api\"\n", "bitbadges.api_url"},
		{"events url no host", "events:\n  url: \"https:///ingest?token=Pa55word\"\n", "events.url"},
		{"events url bad scheme", "events:\n  url: \"hxxps://a:Pa55word@x/ingest\"\n", "events.url"},
		{"broker bad scheme", "fleet:\n  broker: tcp://door:Pa55word@broker:1883\n", "fleet.broker"},
		{"broker unparsable", "fleet:\n  broker: \"mqtt://door:Pa55word@bro ker:1883\"\n", "fleet.broker"},
		{"broker no host", "fleet:\n  broker: \"mqtt:///?password=Pa55word\"\n", "fleet.broker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse accepted %q", tt.yaml)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %q", err, tt.key)
			}
			if strings.Contains(err.Error(), "Pa55word") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func TestSafeURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://api.example/v0":           "https://api.example/v0",
		"https://u:p@api.example/v0":       "https://…@api.example/v0",
		"https://api.example/v0?token=abc": "https://api.example/v0?…",
		"u:p@host":                         "…@host",
		"https://host/a@b":                 "https://host/a@b",
		"mqtt://a:b@c@host:1883":           "mqtt://…@host:1883",
	} {
		if got := safeURL(raw); got != want {
			t.Errorf("safeURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
