package status

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheckHost(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("served")) })
	tests := []struct {
		name   string
		listen string
		hosts  []string
		local  string // the address the connection arrived at; "" = unknown
		host   string
		want   int
	}{
		{"loopback IPv4 with port", "127.0.0.1:9750", nil, "", "127.0.0.1:9750", 200},
		{"loopback IPv4 without port", "127.0.0.1:9750", nil, "", "127.0.0.1", 200},
		{"other loopback IPv4", "127.0.0.1:9750", nil, "", "127.0.0.2:9750", 200},
		{"localhost", "127.0.0.1:9750", nil, "", "localhost:9750", 200},
		{"localhost other port (SSH tunnel)", "127.0.0.1:9750", nil, "", "localhost:8080", 200},
		{"localhost upper case", "127.0.0.1:9750", nil, "", "LocalHost:9750", 200},
		{"localhost trailing dot", "127.0.0.1:9750", nil, "", "localhost.:9750", 200},
		{"IPv6 loopback with brackets and port", "[::1]:9750", nil, "", "[::1]:9750", 200},
		{"IPv6 loopback with brackets no port", "127.0.0.1:9750", nil, "", "[::1]", 200},
		{"IPv4-mapped loopback", "127.0.0.1:9750", nil, "", "[::ffff:127.0.0.1]:9750", 200},
		{"rebound name", "127.0.0.1:9750", nil, "", "attacker.example:9750", 421},
		{"rebound name no port", "127.0.0.1:9750", nil, "", "attacker.example", 421},
		{"localhost as a subdomain", "127.0.0.1:9750", nil, "", "localhost.attacker.example", 421},
		{"empty host", "127.0.0.1:9750", nil, "", "", 421},
		{"unclosed bracket", "127.0.0.1:9750", nil, "", "[::1:9750", 421},
		{"listen address", "10.200.0.1:9750", nil, "", "10.200.0.1:9750", 200},
		{"listen address trailing dot", "10.200.0.1:9750", nil, "", "10.200.0.1.:9750", 200},
		{"listen IPv6 address, other spelling", "[fd00::0:1]:9750", nil, "", "[FD00::1]:9750", 200},
		{"not the listen address", "10.200.0.1:9750", nil, "", "10.200.0.9:9750", 421},
		{"listen name", "door-3.local:9750", nil, "", "DOOR-3.local.:9750", 200},
		{"configured host", "0.0.0.0:9750", []string{"door-3.local"}, "", "door-3.local:9750", 200},
		{"configured host, case and dot", "0.0.0.0:9750", []string{"Door-3.Local."}, "", "door-3.LOCAL", 200},
		{"configured IPv6 host", "0.0.0.0:9750", []string{"[fd00::5]"}, "", "[fd00::5]:9750", 200},
		{"configured IPv6 host unbracketed", "0.0.0.0:9750", []string{"fd00::5"}, "", "[fd00::5]", 200},
		{"unspecified listen is not a name", "0.0.0.0:9750", nil, "", "0.0.0.0:9750", 421},
		{"address connected to", "0.0.0.0:9750", nil, "10.200.0.1:9750", "10.200.0.1:9750", 200},
		{"address connected to, IPv6", "[::]:9750", nil, "[fd00::1]:9750", "[fd00::1]:9750", 200},
		{"another address of the kiosk", "0.0.0.0:9750", nil, "10.200.0.1:9750", "10.200.0.5:9750", 421},
		{"unknown name on an open listener", "0.0.0.0:9750", []string{"door-3.local"}, "10.200.0.1:9750", "evil.example", 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := CheckHost(tt.listen, tt.hosts, ok)
			r := httptest.NewRequest("GET", "/status.json", nil)
			r.Host = tt.host
			if tt.local != "" {
				a, err := net.ResolveTCPAddr("tcp", tt.local)
				if err != nil {
					t.Fatal(err)
				}
				r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(a)))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("Host %q (listen %s, hosts %q): %d %q, want %d", tt.host, tt.listen, tt.hosts, w.Code, w.Body, tt.want)
			}
			if tt.want == 200 && w.Body.String() != "served" {
				t.Errorf("Host %q: body %q", tt.host, w.Body)
			}
		})
	}
}

func TestRequireTokenOffLoopback(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("served")) })
	tests := []struct {
		name, token, remote, query, auth string
		want                             int
	}{
		{"loopback without token", "tok", "127.0.0.1:5555", "", "", 200},
		{"IPv6 loopback without token", "tok", "[::1]:5555", "", "", 200},
		{"mapped loopback without token", "tok", "[::ffff:127.0.0.1]:5555", "", "", 200},
		{"network without token", "tok", "10.200.0.2:5555", "", "", 401},
		{"network with wrong token", "tok", "10.200.0.2:5555", "nope", "", 401},
		{"network with query token", "tok", "10.200.0.2:5555", "tok", "", 200},
		{"network with bearer token", "tok", "10.200.0.2:5555", "", "Bearer tok", 200},
		{"unparsable peer", "tok", "somewhere", "", "", 401},
		{"no token configured (loopback listener)", "", "10.200.0.2:5555", "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/display/qr.svg"
			if tt.query != "" {
				target += "?token=" + tt.query
			}
			r := httptest.NewRequest("GET", target, nil)
			r.RemoteAddr = tt.remote
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			RequireTokenOffLoopback(tt.token, ok).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("%d %q, want %d", w.Code, w.Body, tt.want)
			}
		})
	}
}
