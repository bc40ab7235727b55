package config

import (
	"strings"
	"testing"
)

func TestDisplayEndpointEnv(t *testing.T) {
	base := "display:\n  enabled: true\n  tenant_id: tn_file\n  api_url: https://eu.api.authsignal.com/v1\n"
	tests := []struct {
		name, yaml, envURL, envTenant string
		wantURL, wantTenant, wantErr  string
	}{
		{"file", base, "", "", "https://eu.api.authsignal.com/v1", "tn_file", ""},
		{"env wins", base, "https://au.api.authsignal.com/v1", "tn_env", "https://au.api.authsignal.com/v1", "tn_env", ""},
		{"tenant from env only", "display:\n  enabled: true\n", "", "tn_env", "https://api.authsignal.com/v1", "tn_env", ""},
		{"no tenant", "display:\n  enabled: true\n", "", "", "", "", "display.tenant_id"},
		{"bad env URL", base, "ftp://x", "", "", "", "display.api_url"},
		{"disabled needs nothing", "display:\n  enabled: false\n", "", "", "https://api.authsignal.com/v1", "", ""},
		{"poll too fast", base + "  poll_interval: 10ms\n", "", "", "", "", "display.poll_interval"},
		{"refresh past expiry", base + "  refresh: 10m\n", "", "", "", "", "display.refresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AUTHSIGNAL_API_URL", tt.envURL)
			t.Setenv("AUTHSIGNAL_TENANT_ID", tt.envTenant)
			c, err := Parse([]byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u, tn := c.Display.Endpoint()
			if u != tt.wantURL || tn != tt.wantTenant {
				t.Fatalf("endpoint %q %q", u, tn)
			}
		})
	}
}

func TestDisplaySecretEnv(t *testing.T) {
	t.Setenv("AUTHSIGNAL_SECRET_KEY", " sk_env \n")
	c := Default()
	v, _, err := ReadSecret(c.AuthsignalSecret())
	if err != nil || v != "sk_env" {
		t.Fatalf("%q %v", v, err)
	}
}
