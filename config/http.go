package config

import (
	"net/url"
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
		return keyErr(key, "%v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return keyErr(key, "must be an http:// or https:// URL, not %q", raw)
	}
	if u.Host == "" {
		return keyErr(key, "has no host: %q", raw)
	}
	return nil
}
