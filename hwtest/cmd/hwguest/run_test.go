package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRunBounded(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name     string
		fn       func() (string, error)
		detail   string
		hung     bool
		errorHas string
	}{
		{"passes", func() (string, error) { return "ok", nil }, "ok", false, ""},
		{"fails", func() (string, error) { return "", errors.New("relay stuck") }, "", false, "relay stuck"},
		{"hangs", func() (string, error) { <-release; return "late", nil }, "", true, "did not finish within 50ms"},
	}
	for _, tt := range tests {
		detail, hung, err := runBounded(tt.fn, 50*time.Millisecond)
		if detail != tt.detail || hung != tt.hung || (err == nil) != (tt.errorHas == "") ||
			(err != nil && !strings.Contains(err.Error(), tt.errorHas)) {
			t.Errorf("%s: runBounded = %q, %v, %v; want %q, %v, error containing %q", tt.name, detail, hung, err, tt.detail, tt.hung, tt.errorHas)
		}
	}
}
