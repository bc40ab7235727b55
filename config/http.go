package config

import (
	"errors"
	"net/url"
	"strings"
)

// HTTP is the local listener for metrics, the status page and the display page.
type HTTP struct {
	// Listen is host:port; empty = no listener. Bound to localhost by default.
	Listen string `yaml:"listen"`
	// TokenFile guards the listener when it is not on localhost (env KIOSKD_HTTP_TOKEN).
	TokenFile string `yaml:"token_file"`
}

func defaultHTTP() HTTP { return HTTP{Listen: "127.0.0.1:9750"} }

// HTTPToken says where the status page's access token comes from.
func (c *Config) HTTPToken() Secret {
	return Secret{Key: "http.token_file", Name: c.HTTP.TokenFile, File: c.Resolve(c.HTTP.TokenFile), Env: "KIOSKD_HTTP_TOKEN"}
}

func (h *HTTP) validate() error { return nil }

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
