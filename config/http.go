package config

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
)

// HTTP is the local listener for metrics, the status page and the display page.
type HTTP struct {
	// Listen is host:port; empty = no listener. Bound to localhost by default.
	Listen string `yaml:"listen"`
	// TokenFile guards the listener when it is not on localhost (env KIOSKD_HTTP_TOKEN).
	TokenFile string `yaml:"token_file"`
	// Hosts are the extra names the listener answers to, e.g. door-3.local.
	// A request is served only when its Host header names the listen
	// address, the address the client connected to, a loopback name or one
	// of these: a page in a browser that some other name resolves to the
	// kiosk (DNS rebinding) is refused.
	Hosts []string `yaml:"hosts"`
	// Pages are more pages on the listener (a staff desk, a scan-mode
	// screen): registered kinds, see plugin.go.
	Pages []Plugin `yaml:"pages"`
}

func defaultHTTP() HTTP { return HTTP{Listen: "127.0.0.1:9750"} }

// HTTPToken says where the status page's access token comes from.
func (c *Config) HTTPToken() Secret {
	return Secret{Key: "http.token_file", Name: c.HTTP.TokenFile, File: c.Resolve(c.HTTP.TokenFile), Env: "KIOSKD_HTTP_TOKEN"}
}

func (h *HTTP) validate() error {
	if err := validatePlugins("http.pages", h.Pages); err != nil {
		return err
	}
	if len(h.Pages) > 0 && h.Listen == "" {
		return keyErr("http.pages", "needs http.listen: the pages are served there")
	}
	for _, host := range h.Hosts {
		if err := checkHostName(host); err != "" {
			return keyErr("http.hosts", "%q: %s", host, err)
		}
	}
	return nil
}

// checkHostName says what is wrong with an http.hosts entry ("" if nothing):
// it must be a bare DNS name or IP address, as it appears in a Host header
// without the port.
func checkHostName(h string) string {
	if h == "" {
		return "must not be empty"
	}
	if strings.Contains(h, "://") || strings.ContainsAny(h, "/?#@") {
		return "must be a host name or address, not a URL"
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		if a, err := netip.ParseAddr(h[1 : len(h)-1]); err == nil && a.Is6() {
			return ""
		}
		return "not an IPv6 address"
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	if strings.Contains(h, ":") {
		return "must not carry a port (any port is accepted)"
	}
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return "not a valid host name"
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "not a valid host name"
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "not a valid host name (wildcards are not supported)"
			}
		}
	}
	return ""
}

func checkURL(key, raw string, required bool) error {
	if raw == "" {
		if required {
			return keyErr(key, "must not be empty")
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return keyErr(key, "%q: %v", safeURL(raw), urlCause(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return keyErr(key, "must be an http:// or https:// URL, not %q", safeURL(raw))
	}
	if u.Host == "" {
		return keyErr(key, "has no host: %q", safeURL(raw))
	}
	return nil
}

// safeURL is raw fit for an error message: a URL may carry a login
// (user:password@) or a token in its query, so both are cut out, even when
// raw does not parse.
func safeURL(raw string) string {
	s := raw
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i] + "?…"
	}
	rest, scheme := s, ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i+3], s[i+3:]
	}
	authority := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority = rest[:i]
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		rest = "…@" + rest[i+1:]
	}
	return scheme + rest
}

// urlCause is a url.Parse error without the URL it quotes.
func urlCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
