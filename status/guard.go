package status

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// CheckHost wraps h so that a request is served only when its Host header
// names this kiosk: the host of listen (unless it is 0.0.0.0 or ::), the
// address the client connected to, localhost or a loopback address, or one
// of hosts (http.hosts). Anything else is answered 421 Misdirected Request.
//
// Why: a page in a browser (the kiosk's own, or a laptop's through the SSH
// tunnel) can have its own name re-resolved to the kiosk's address (DNS
// rebinding) and then read the status, the preview and the display page as
// "same origin". The browser still sends the attacker's name as Host, so
// refusing unknown names defeats it. The port is not compared: a tunnel
// moves it. Names are compared without case and without a trailing dot.
func CheckHost(listen string, hosts []string, h http.Handler) http.Handler {
	allowed := map[string]bool{"localhost": true}
	if host, _, err := net.SplitHostPort(listen); err == nil {
		if a, err := netip.ParseAddr(host); err != nil || !a.IsUnspecified() {
			allowed[hostKey(host)] = true
		}
	}
	for _, n := range hosts {
		allowed[hostKey(n)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := hostKey(r.Host)
		if k != "" && (allowed[k] || loopbackHost(k) || k == localHost(r)) {
			h.ServeHTTP(w, r)
			return
		}
		http.Error(w, fmt.Sprintf("misdirected request: host %q is not this kiosk's listen address, localhost or one of http.hosts", r.Host),
			http.StatusMisdirectedRequest)
	})
}

// hostKey is a Host header (or an http.hosts entry) reduced to what is
// compared: no port, no IPv6 brackets or zone, lower case, no trailing dot,
// an IPv4-mapped IPv6 address as IPv4.
func hostKey(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return ""
		}
		s = s[1:end]
	} else if strings.Count(s, ":") == 1 {
		s = s[:strings.IndexByte(s, ':')]
	}
	s = strings.TrimSuffix(s, ".")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap().String()
	}
	s = strings.ToLower(s)
	if strings.ContainsAny(s, "%[]/ ") {
		return ""
	}
	return s
}

// loopbackHost reports whether a hostKey is a loopback address.
func loopbackHost(k string) bool {
	a, err := netip.ParseAddr(k)
	return err == nil && a.IsLoopback()
}

// localHost is the hostKey of the address the request's connection arrived
// at ("" when unknown): a client that typed the kiosk's IP address.
func localHost(r *http.Request) string {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return ""
	}
	return hostKey(host)
}

// RequireTokenOffLoopback wraps h so that a client on this machine (a
// loopback peer: the kiosk's own screen, or an SSH tunnel) is let through
// and any other must carry token, as RequireToken checks it.
func RequireTokenOffLoopback(token string, h http.Handler) http.Handler {
	guarded := RequireToken(token, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopbackPeer(r.RemoteAddr) {
			h.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

func loopbackPeer(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
