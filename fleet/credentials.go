package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseCredentials reads a broker login in one of two forms:
//
//	alice:s3cret                    one line: split at the first colon
//
//	username: alice                 more than one line: YAML with exactly
//	password: s3cret                these two keys
//
// Errors never quote the content.
func ParseCredentials(s string) (username, password string, err error) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n") {
		var c struct {
			Username string `yaml:"username"`
			Password string `yaml:"password"`
		}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(s)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return "", "", errors.New("credentials: YAML form must have only the keys username and password")
		}
		if c.Username == "" {
			return "", "", errors.New("credentials: username is empty")
		}
		return c.Username, c.Password, nil
	}
	u, p, ok := strings.Cut(s, ":")
	if !ok || u == "" {
		return "", "", fmt.Errorf("credentials: expected username:password (%d characters, no colon or empty username)", len(s))
	}
	return u, p, nil
}
